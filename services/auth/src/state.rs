use std::sync::Arc;

use psa_authn::{HasVerifier, Verifier};
use psa_runtime::{PlatformConfig, Registry};
use sqlx::PgPool;

use crate::secrets::MasterKey;

#[derive(Clone)]
pub struct AuthState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    pub config: Arc<PlatformConfig>,
    pub master: Arc<MasterKey>,
    /// The platform's modules: their permissions are the catalogue grants
    /// are checked against.
    pub registry: Arc<Registry>,
}

impl AuthState {
    pub fn issuer(&self) -> String {
        self.config.issuer()
    }
}

impl HasVerifier for AuthState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
