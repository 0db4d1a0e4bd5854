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
    /// Inventory imports running at once in this process: each holds two
    /// connections (its idempotency record's and its chunk's), so they are
    /// bounded apart from the pool.
    pub imports: Arc<tokio::sync::Semaphore>,
}

impl HasVerifier for AssetsState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
