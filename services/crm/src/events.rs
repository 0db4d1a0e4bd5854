//! What the CRM publishes. Events are written to `crm.outbox` in the same
//! transaction as the change they describe; the relay publishes them.

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

pub use psa_events::catalog::{
    CONTACT_CREATED, CONTACT_DELETED, CONTACT_UPDATED, CONTRACT_CREATED, CONTRACT_DELETED,
    CONTRACT_UPDATED, CUSTOMER_CREATED, CUSTOMER_DELETED, CUSTOMER_UPDATED, SITE_CREATED,
    SITE_DELETED, SITE_UPDATED,
};

use crate::error::CrmError;

/// The three events a resource kind emits.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    pub created: &'static str,
    pub updated: &'static str,
    pub deleted: &'static str,
}

/// Records an event about `resource` (as GET returns it) in the current transaction.
pub async fn record<T: Serialize>(
    conn: &mut PgConnection,
    event_type: &str,
    subject: Uuid,
    resource: &T,
) -> Result<(), CrmError> {
    psa_events::outbox::enqueue(conn, "crm", event_type, subject, resource).await?;
    Ok(())
}
