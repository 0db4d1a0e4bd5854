use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use psa_authn::{Caller, HasVerifier, Verifier};
use psa_runtime::{ModuleContext, PlatformConfig, Registry};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::domain::audit::AuditEntry;
use crate::proxy::Upstream;
use crate::ratelimit::RateLimiter;

/// An API key's exchanged token, kept briefly so that not every request
/// costs a round trip to the auth module.
pub struct CachedKey {
    pub token: String,
    pub caller: Caller,
    pub limit: Option<u32>,
    pub until: Instant,
}

#[derive(Clone)]
pub struct GatewayState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    pub config: Arc<PlatformConfig>,
    /// The platform's modules: the routing table.
    pub registry: Arc<Registry>,
    /// How each module is reached, by module name.
    pub upstreams: Arc<HashMap<&'static str, Upstream>>,
    pub limiter: Arc<RateLimiter>,
    pub api_keys: Arc<Mutex<HashMap<[u8; 32], CachedKey>>>,
    pub audit: mpsc::Sender<AuditEntry>,
    /// `/graphql`: the schema and the persisted queries.
    pub graphql: Arc<crate::graphql::Graphql>,
}

impl GatewayState {
    /// A state with no upstreams yet; fails on an invalid rate-limit setting.
    pub fn new(
        pool: PgPool,
        ctx: &ModuleContext,
        audit: mpsc::Sender<AuditEntry>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            verifier: ctx.verifier.clone(),
            config: ctx.config.clone(),
            registry: ctx.registry.clone(),
            upstreams: Arc::new(HashMap::new()),
            limiter: Arc::new(RateLimiter::new(ctx.config.gateway.rate_limit.clone())?),
            api_keys: Arc::new(Mutex::new(HashMap::new())),
            audit,
            graphql: Arc::new(crate::graphql::Graphql::default()),
        })
    }
}

impl HasVerifier for GatewayState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
