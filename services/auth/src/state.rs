//! What auth's handlers share.

use std::sync::Arc;

use psa_authn::{HasVerifier, Verifier};
use psa_kernel::{Sealer, Store};
use psa_runtime::{PlatformConfig, Registry};

use crate::crypto::secrets::MasterKey;

#[derive(Clone)]
pub struct AuthState {
    /// The `auth` schema, through the module's role.
    pub store: Store,
    pub verifier: Arc<Verifier>,
    pub config: Arc<PlatformConfig>,
    /// Seals signing keys, TOTP secrets and stored responses that show a secret.
    pub master: Arc<MasterKey>,
    /// The platform's modules: their permissions are the catalogue grants
    /// are checked against.
    pub registry: Arc<Registry>,
}

impl AuthState {
    pub fn issuer(&self) -> String {
        self.config.issuer()
    }

    /// What auth's idempotency records are sealed with: its responses show
    /// secrets once and its requests carry passwords.
    pub fn sealer(&self) -> Arc<dyn Sealer> {
        self.master.clone()
    }
}

impl HasVerifier for AuthState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
