//! `GET /v1/audit-log`: the tenant's writes through the gateway.

use axum::extract::State;
use psa_authn::Caller;
use psa_authn::permissions::AUDIT_READ;
use psa_http::extract::Query;
use psa_kernel::docs::{self, BadRequest, Denied};
use psa_kernel::{Page, PageParams, SortField, Store, Tx};
use serde::Deserialize;

use crate::domain::audit::AuditEntry;
use crate::repo;
use crate::state::GatewayState;

impl docs::Sorts for AuditEntry {
    const SORTS: &'static [SortField] = repo::audit_log::SORTS;
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only the entries of this request.
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 200>")]
    #[param(schema_with = psa_http::formats::line::<200>)]
    pub request_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

/// The tenant's writes through the gateway, oldest first (`updated_since`
/// reads as "written since": entries never change).
#[utoipa::path(get, path = "/v1/audit-log", tag = "audit", params(AuditQuery, docs::Paging<AuditEntry>),
    responses((status = 200, body = Page<AuditEntry>), BadRequest, Denied),
    security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<GatewayState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<Page<AuditEntry>>, psa_http::Problem> {
    let store = Store::new(state.pool.clone(), crate::DB.schema);
    let tx = Tx::begin(&store, &caller, AUDIT_READ.name).await?;
    let keyset = q.page.keyset(repo::audit_log::SORTS, SortField::ID)?;
    let page = psa_kernel::read(tx, async |tx| {
        Ok::<_, psa_http::Problem>(repo::audit_log::list(tx, q.request_id, &keyset).await?)
    })
    .await?;
    Ok(axum::Json(page))
}
