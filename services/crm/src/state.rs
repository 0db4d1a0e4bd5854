use std::sync::Arc;

use psa_authn::{HasVerifier, Verifier};
use sqlx::PgPool;

/// What every CRM handler gets.
#[derive(Clone)]
pub struct CrmState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    /// The outbox relay, running as long as the app does.
    pub relay: Option<Arc<psa_events::TaskGuard>>,
}

impl HasVerifier for CrmState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}
