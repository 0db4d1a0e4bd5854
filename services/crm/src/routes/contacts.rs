//! `/v1/contacts`: people at customers.

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

use crate::domain::{Contact, ContactInput, Customer};
use crate::error::CrmError;
use crate::repo::contacts::ContactFilters;
use crate::repo::of_customer;
use crate::state::CrmState;

psa_kernel::merge_patch!(pub ContactPatch = ContactInput);

#[utoipa::path(get, path = "/v1/contacts", tag = "contacts",
    params(ContactFilters, Paging<Contact>, Per<ContactFilters>),
    responses((status = 200, body = Page<Contact>), BadRequest, Denied),
    security(("bearer" = ["customers:read"])))]
pub async fn list_contacts(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<ContactFilters>,
) -> Result<axum::Json<Page<Contact>>, CrmError> {
    resource::list_per::<Contact, _>(&state.store, &caller, &f.page, &f, |qb| f.push(qb)).await
}

/// A customer's contacts; 404 for a customer the tenant does not have.
#[utoipa::path(get, path = "/v1/customers/{id}/contacts", tag = "contacts",
    params(("id" = Uuid, Path), Paging<Contact>),
    responses((status = 200, body = Page<Contact>), BadRequest, Denied, NotFound),
    security(("bearer" = ["customers:read"])))]
pub async fn customer_contacts(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Contact>>, CrmError> {
    resource::list_under::<Contact, Customer>(&state.store, &caller, id, &page, |qb| {
        of_customer(qb, id)
    })
    .await
}

/// A new contact of a customer: 422 `not_found` (`customer_id`) for a customer
/// the tenant does not have; 409 `conflict` when a concurrent write got there
/// first (the customer deleted meanwhile). A new primary contact takes the
/// mark from the customer's former one.
#[utoipa::path(post, path = "/v1/contacts", tag = "contacts", request_body = ContactInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Contact, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn create_contact(
    State(state): State<CrmState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, CrmError> {
    resource::create::<Contact>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Contact, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["customers:read"])))]
pub async fn get_contact(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::get::<Contact>(&state.store, &caller, id).await
}

/// Changes a contact: 422 `not_found` for a `customer_id` the tenant does
/// not have, 412 `stale_version` on a stale `If-Match`, 409 `conflict` when a
/// concurrent write got there first.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts",
    request_body(content = ContactPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = Contact, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn patch_contact(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, CrmError> {
    resource::patch::<Contact>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes a contact: 412 `stale_version` on a stale `If-Match`, 409
/// `conflict` when a concurrent write got there first.
#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["customers:write"])))]
pub async fn delete_contact(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::delete::<Contact>(&state.store, &caller, &headers, id).await
}
