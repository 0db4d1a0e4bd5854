//! The tenant's audit trail, for its administrators.

use axum::extract::State;
use chrono::{DateTime, Utc};
use psa_authn::Caller;
use psa_http::extract::Query;
use psa_http::pagination::Page;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, list_by_id};
use crate::error::AuthError;
use crate::state::AuthState;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    /// e.g. `sign_in`, `mfa.enabled`, `api_key.created`, `user.roles_changed`.
    pub action: String,
    pub actor: String,
    pub target: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, action, actor, target, outcome, ip, detail, created_at";

#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(ListParams),
    responses((status = 200, body = Page<AuditEvent>)), security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<AuditEvent>>, AuthError> {
    list_by_id(
        &state,
        &caller,
        "audit:read",
        COLUMNS,
        "auth.audit_events",
        &q,
        |e: &AuditEvent| e.id,
    )
    .await
    .map(axum::Json)
}
