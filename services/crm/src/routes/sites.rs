//! `/v1/sites`: customers' locations.

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

use crate::domain::{Customer, Site, SiteInput};
use crate::error::CrmError;
use crate::repo::of_customer;
use crate::repo::sites::SiteFilters;
use crate::state::CrmState;

psa_kernel::merge_patch!(pub SitePatch = SiteInput);

#[utoipa::path(get, path = "/v1/sites", tag = "sites",
    params(SiteFilters, Paging<Site>, Per<SiteFilters>),
    responses((status = 200, body = Page<Site>), BadRequest, Denied),
    security(("bearer" = ["customers:read"])))]
pub async fn list_sites(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<SiteFilters>,
) -> Result<axum::Json<Page<Site>>, CrmError> {
    resource::list_per::<Site, _>(&state.store, &caller, &f.page, &f, |qb| f.push(qb)).await
}

/// A customer's sites; 404 for a customer the tenant does not have.
#[utoipa::path(get, path = "/v1/customers/{id}/sites", tag = "sites",
    params(("id" = Uuid, Path), Paging<Site>),
    responses((status = 200, body = Page<Site>), BadRequest, Denied, NotFound),
    security(("bearer" = ["customers:read"])))]
pub async fn customer_sites(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Site>>, CrmError> {
    resource::list_under::<Site, Customer>(&state.store, &caller, id, &page, |qb| {
        of_customer(qb, id)
    })
    .await
}

/// A new site of a customer: 422 `not_found` (`customer_id`) for a customer
/// the tenant does not have; 409 `conflict` when a concurrent write got there
/// first (the customer deleted meanwhile).
#[utoipa::path(post, path = "/v1/sites", tag = "sites", request_body = SiteInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Site, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn create_site(
    State(state): State<CrmState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, CrmError> {
    resource::create::<Site>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/sites/{id}", tag = "sites", params(("id" = Uuid, Path)),
    responses((status = 200, body = Site, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["customers:read"])))]
pub async fn get_site(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::get::<Site>(&state.store, &caller, id).await
}

/// Changes a site: 422 `not_found` for a `customer_id` the tenant does not
/// have, 412 `stale_version` on a stale `If-Match`, 409 `conflict` when a
/// concurrent write got there first.
#[utoipa::path(patch, path = "/v1/sites/{id}", tag = "sites",
    request_body(content = SitePatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = Site, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["customers:write"])))]
pub async fn patch_site(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, CrmError> {
    resource::patch::<Site>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes a site: 412 `stale_version` on a stale `If-Match`, 409 `conflict`
/// when a concurrent write got there first.
#[utoipa::path(delete, path = "/v1/sites/{id}", tag = "sites",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["customers:write"])))]
pub async fn delete_site(
    State(state): State<CrmState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, CrmError> {
    resource::delete::<Site>(&state.store, &caller, &headers, id).await
}
