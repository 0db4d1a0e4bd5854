//! `/v1/contracts`: agreements with customers (billing terms, SLAs).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch, Invalid, NotFound, Paging,
    Per, Stale,
};
use psa_kernel::{Idempotency, Page, PageParams, resource};

use crate::domain::{Contract, ContractInput, Customer};
use crate::error::CrmError;
use crate::repo::contracts::ContractFilters;
use crate::repo::of_customer;
use crate::state::CrmState;

psa_kernel::merge_patch!(pub ContractPatch = ContractInput);

#[utoipa::path(get, path = "/v1/contracts", tag = "contracts",
    params(ContractFilters, Paging<Contract>, Per<ContractFilters>),
    responses((status = 200, body = Page<Contract>), BadRequest, Denied),
    security(("bearer" = ["contracts:read"])))]
pub async fn list_contracts(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<ContractFilters>,
) -> Result<axum::Json<Page<Contract>>, CrmError> {
    resource::list_per::<Contract, _>(&state.store, &caller, &f.page, &f, |qb| f.push(qb)).await
}

/// A customer's contracts; 404 for a customer the tenant does not have.
#[utoipa::path(get, path = "/v1/customers/{id}/contracts", tag = "contracts",
    params(("id" = Uuid, Path), Paging<Contract>),
    responses((status = 200, body = Page<Contract>), BadRequest, Denied, NotFound),
    security(("bearer" = ["contracts:read"])))]
pub async fn customer_contracts(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Contract>>, CrmError> {
    resource::list_under::<Contract, Customer>(&state.store, &caller, id, &page, |qb| {
        of_customer(qb, id)
    })
    .await
}

/// A new contract of a customer: 422 `not_found` (`customer_id`) for a
/// customer the tenant does not have, `inconsistent` for fields that
/// contradict each other (an end before the start, a `block_hours` contract
/// without `included_hours`, a resolution target before the response one, a
/// window that ends before it starts); 409 `conflict` when a concurrent write
/// got there first.
#[utoipa::path(post, path = "/v1/contracts", tag = "contracts", request_body = ContractInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Contract, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["contracts:write"])))]
pub async fn create_contract(
    State(state): State<CrmState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, CrmError> {
    resource::create::<Contract>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/contracts/{id}", tag = "contracts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Contract, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["contracts:read"])))]
pub async fn get_contract(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::get::<Contract>(&state.store, &caller, id).await
}

/// Changes a contract: 422 as on create, 412 `stale_version` on a stale
/// `If-Match`, 409 `conflict` when a concurrent write got there first.
#[utoipa::path(patch, path = "/v1/contracts/{id}", tag = "contracts",
    request_body(content = ContractPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = Contract, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["contracts:write"])))]
pub async fn patch_contract(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, CrmError> {
    resource::patch::<Contract>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes a contract: 412 `stale_version` on a stale `If-Match`, 409
/// `conflict` when a concurrent write got there first.
#[utoipa::path(delete, path = "/v1/contracts/{id}", tag = "contracts",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["contracts:write"])))]
pub async fn delete_contract(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::delete::<Contract>(&state.store, &caller, &headers, id).await
}
