//! What the handlers share.

use std::sync::Arc;

use psa_authn::sealing::MasterKey;
use psa_authn::{HasVerifier, Verifier};
use psa_kernel::Store;
use psa_outbound::Guard;
use psa_runtime::config::NotifyConfig;

#[derive(Clone)]
pub struct NotifyState {
    /// The `notify` schema through the module's role.
    pub store: Store,
    pub verifier: Arc<Verifier>,
    /// Seals the signing secrets (derived from the deployment's master key).
    pub keys: Arc<MasterKey>,
    /// The SSRF guard every URL a tenant sets passes.
    pub guard: Arc<Guard>,
    pub config: Arc<NotifyConfig>,
}

impl HasVerifier for NotifyState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
