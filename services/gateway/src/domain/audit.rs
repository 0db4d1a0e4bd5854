//! One write through the gateway, as its audit log records it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    #[serde(skip)]
    #[sqlx(default)]
    pub tenant_id: Uuid,
    /// The `X-Request-Id` the client saw.
    pub request_id: String,
    pub subject: String,
    pub client_id: Option<String>,
    pub method: String,
    pub path: String,
    pub resource_id: Option<String>,
    pub status: i16,
    pub created_at: DateTime<Utc>,
}
