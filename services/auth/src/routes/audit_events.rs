//! `/v1/audit-events`: the tenant's audit trail, for its administrators.

use axum::extract::State;
use psa_authn::Caller;
use psa_authn::permissions::AUDIT_READ;
use psa_http::extract::Query;
use psa_kernel::docs::{self, BadRequest, Denied};
use psa_kernel::{Page, PageParams, Tx};

use super::listed;
use crate::domain::audit::AuditEvent;
use crate::error::AuthError;
use crate::state::AuthState;

/// Oldest first by default; `sort=-created_at` for the newest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(docs::Paging<AuditEvent>),
    responses((status = 200, body = Page<AuditEvent>), BadRequest, Denied),
    security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<AuditEvent>>, AuthError> {
    let tx = Tx::begin(&state.store, &caller, AUDIT_READ.name).await?;
    listed(tx, &params).await
}
