//! `/v1/audit-events`: the tenant's audit trail, for its administrators.

use axum::extract::State;
use psa_authn::Caller;
use psa_authn::permissions::AUDIT_READ;
use psa_http::extract::Query;
use psa_http::problem::ProblemBody;
use psa_kernel::{Page, PageParams, SortField, Tx};

use crate::domain::audit::AuditEvent;
use crate::error::AuthError;
use crate::repo;
use crate::state::AuthState;

/// Oldest first by default; `sort=-created_at` for the newest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(PageParams),
    responses(
        (status = 200, body = Page<AuditEvent>),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<AuditEvent>>, AuthError> {
    let keyset = params.keyset(repo::audit::SORTS, SortField::CREATED_AT)?;
    let mut tx = Tx::begin(&state.store, &caller, AUDIT_READ.name).await?;
    let page = repo::audit::page(&mut tx, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}
