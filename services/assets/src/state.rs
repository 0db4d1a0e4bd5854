//! What the handlers share.

use std::sync::Arc;

use psa_authn::sealing::MasterKey;
use psa_authn::{HasVerifier, Verifier};
use psa_kernel::Store;

#[derive(Clone)]
pub struct AssetsState {
    /// The `assets` schema through the module's role.
    pub store: Store,
    pub verifier: Arc<Verifier>,
    /// Seals license keys (derived from the deployment's master key).
    pub keys: Arc<MasterKey>,
}

impl HasVerifier for AssetsState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
