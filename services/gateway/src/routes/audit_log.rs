//! `GET /v1/audit-log`: the tenant's writes through the gateway.

use axum::extract::State;
use psa_authn::Caller;
use psa_authn::permissions::AUDIT_READ;
use psa_http::extract::Query;
use psa_kernel::docs::{BadRequest, Denied};
use psa_kernel::{Page, PageParams, SortField, SortValue, Store, Tx};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use crate::audit::AuditEntry;
use crate::state::GatewayState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only the entries of this request.
    #[param(max_length = 200)]
    pub request_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

const SORTS: &[SortField] = &[SortField::ID, SortField::CREATED_AT];

/// The tenant's writes through the gateway, oldest first (`updated_since`
/// reads as "written since": entries never change).
#[utoipa::path(get, path = "/v1/audit-log", tag = "audit", params(AuditQuery, PageParams),
    responses((status = 200, body = Page<AuditEntry>), BadRequest, Denied),
    security(("bearer" = ["audit:read"])))]
pub async fn list(
    State(state): State<GatewayState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<Page<AuditEntry>>, psa_http::Problem> {
    let store = Store::new(state.pool.clone(), crate::DB.schema);
    let mut tx = Tx::begin(&store, &caller, AUDIT_READ.name).await?;
    let keyset = q.page.keyset(SORTS, SortField::ID)?;
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, request_id, subject, client_id, method, path, resource_id, status, created_at
         from (select id, request_id, subject, client_id, method, path, resource_id, status,
                 created_at, created_at as updated_at from gateway.audit_log) as audit_log
         where true",
    );
    if let Some(r) = q.request_id {
        qb.push(" and request_id = ").push_bind(r);
    }
    let page = keyset
        .fetch(&mut tx, qb, |e: &AuditEntry, field| {
            let value = match field {
                "created_at" => SortValue::Time(e.created_at),
                _ => SortValue::Uuid(e.id),
            };
            (value, e.id)
        })
        .await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}
