//! `/v1/customers`: the MSP's customers.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch, Invalid, NotFound, Paging,
    Stale,
};
use psa_kernel::{Idempotency, Page, resource};

use crate::domain::{Customer, CustomerInput};
use crate::error::CrmError;
use crate::repo::customers::CustomerFilters;
use crate::state::CrmState;

psa_kernel::merge_patch!(pub CustomerPatch = CustomerInput, keep["customer_number"]);

#[utoipa::path(get, path = "/v1/customers", tag = "customers",
    params(CustomerFilters, Paging<Customer>),
    responses((status = 200, body = Page<Customer>), BadRequest, Denied),
    security(("bearer" = ["customers:read"])))]
pub async fn list_customers(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<CustomerFilters>,
) -> Result<axum::Json<Page<Customer>>, CrmError> {
    resource::list::<Customer>(&state.store, &caller, &f.page, |qb| f.push(qb)).await
}

/// A new customer; 409 `customer_number_taken` when its number is in use.
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = CustomerInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Customer, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn create_customer(
    State(state): State<CrmState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, CrmError> {
    resource::create::<Customer>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Customer, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["customers:read"])))]
pub async fn get_customer(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::get::<Customer>(&state.store, &caller, id).await
}

/// Changes a customer; 409 `customer_number_taken` as on create.
#[utoipa::path(patch, path = "/v1/customers/{id}", tag = "customers",
    request_body(content = CustomerPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = Customer, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn patch_customer(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, CrmError> {
    resource::patch::<Customer>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes a customer with its contacts and sites; 409
/// `customer_has_contracts` while it has contracts.
#[utoipa::path(delete, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["customers:write"])))]
pub async fn delete_customer(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::delete::<Customer>(&state.store, &caller, &headers, id).await
}
