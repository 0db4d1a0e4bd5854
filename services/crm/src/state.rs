use std::sync::Arc;

use psa_authn::{HasVerifier, Verifier};
use psa_kernel::Store;

/// What every CRM handler gets.
#[derive(Clone)]
pub struct CrmState {
    /// The CRM's pool and schema (outbox, idempotency keys).
    pub store: Store,
    pub verifier: Arc<Verifier>,
}

impl HasVerifier for CrmState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
