//! `GET /v1/audit-log`: the tenant's writes through the gateway.

use axum::extract::State;
use psa_authn::Caller;
use psa_authn::permissions::AUDIT_READ;
use psa_http::extract::Query;
use psa_http::pagination::{self, Cursor, Page};
use serde::Deserialize;

use crate::audit::AuditEntry;
use crate::state::GatewayState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Only the entries of this request.
    pub request_id: Option<String>,
}

/// The tenant's writes through the gateway, newest last.
#[utoipa::path(get, path = "/v1/audit-log", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>)), security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<GatewayState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<Page<AuditEntry>>, psa_http::Problem> {
    caller.require(AUDIT_READ.name)?;
    let limit = pagination::limit(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()?
        .map(|c| c.id);
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let rows: Vec<AuditEntry> = sqlx::query_as(
        "select id, request_id, subject, client_id, method, path, resource_id, status, created_at from gateway.audit_log
         where ($1::uuid is null or id > $1) and ($2::text is null or request_id = $2) order by id limit $3",
    )
    .bind(after)
    .bind(&q.request_id)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(axum::Json(Page::from_rows(rows, limit, "id", |r| {
        (String::new(), r.id)
    })))
}
