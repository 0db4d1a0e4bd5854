//! What the handlers share.

use std::sync::Arc;

use psa_authn::{HasVerifier, Verifier};
use psa_kernel::Store;

#[derive(Clone)]
pub struct BillingState {
    /// The `billing` schema through the module's role.
    pub store: Store,
    pub verifier: Arc<Verifier>,
}

impl HasVerifier for BillingState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
