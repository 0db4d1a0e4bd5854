use std::sync::Arc;

use axum::Router;
use psa_authn::Verifier;
use psa_db::ModuleDb;
use psa_events::catalog::EventSpec;

use crate::config::PlatformConfig;
use crate::registry::Registry;
use crate::workers::Workers;
use psa_http::health::ReadinessCheck;
use utoipa::openapi::OpenApi;

pub use psa_authn::permissions::Permission;

/// What a module needs from the process that mounts it.
#[derive(Clone)]
pub struct ModuleContext {
    pub config: Arc<PlatformConfig>,
    pub verifier: Arc<Verifier>,
    /// Every module of the platform, not only those mounted in this process
    /// (the auth module's permission catalogue, the gateway's routes).
    pub registry: Arc<Registry>,
}

/// A module ready to serve: its routes (state applied, no cross-cutting
/// layers), the checks `/readyz` runs for it and its background tasks, which
/// the runtime keeps exactly as long as the router.
pub struct Mounted {
    pub router: Router,
    pub checks: Vec<ReadinessCheck>,
    pub workers: Workers,
}

/// What a service crate declares so the platform can run it: the one place
/// its routes, permissions and events are named.
#[derive(Clone, Copy)]
pub struct Module {
    pub name: &'static str,
    pub db: ModuleDb,
    /// Public path prefixes the gateway routes here (`/v1/customers`).
    pub routes: &'static [&'static str],
    /// Those of `routes` reachable without a token (`/oauth`).
    pub public_routes: &'static [&'static str],
    pub permissions: &'static [Permission],
    /// The event types it publishes (the AsyncAPI document lists them).
    pub publishes: &'static [EventSpec],
    /// The binding patterns of the events it consumes (`contract.*`).
    pub consumes: &'static [&'static str],
    pub mount: fn(&ModuleContext) -> anyhow::Result<Mounted>,
    pub openapi: fn() -> OpenApi,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A module that declares nothing, for registry tests.
    pub fn module(name: &'static str) -> Module {
        static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
        Module {
            name,
            db: ModuleDb {
                module: "t",
                schema: "t",
                role: "t",
                migrator: &MIGRATOR,
                platform: &[],
            },
            routes: &[],
            public_routes: &[],
            permissions: &[],
            publishes: &[],
            consumes: &[],
            mount: |_| anyhow::bail!("not mountable"),
            openapi: OpenApi::default,
        }
    }
}
