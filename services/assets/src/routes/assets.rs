//! `/v1/assets`: the configuration items an MSP manages.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch, Invalid, NotFound, Paging,
    Per, Stale,
};
use psa_kernel::{Idempotency, Page, resource};

use crate::domain::{Asset, AssetInput};
use crate::error::AssetsError;
use crate::repo::assets::AssetFilters;
use crate::state::AssetsState;

psa_kernel::merge_patch!(pub AssetPatch = AssetInput);

/// Filters: `customer_id`, `site_id`, `parent_id` (each a list of ids),
/// `type`, `status`, `eol_before`, `warranty_before`, `serial`,
/// `updated_since`, `ids`; `per=customer_id`. Sorts: `created_at`
/// (default), `updated_at`, `name`.
#[utoipa::path(get, path = "/v1/assets", tag = "assets",
    params(AssetFilters, Paging<Asset>, Per<AssetFilters>),
    responses((status = 200, body = Page<Asset>), BadRequest, Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn list_assets(
    State(state): State<AssetsState>,
    caller: Caller,
    Query(f): Query<AssetFilters>,
) -> Result<axum::Json<Page<Asset>>, AssetsError> {
    resource::list_per::<Asset, _>(&state.store, &caller, &f.page, &f, |qb| f.push(qb)).await
}

/// Records an asset: 422 `not_found` for a customer, site, contact, type or
/// parent the tenant does not have (site and contact must be the
/// customer's), 422 `cycle` for a parent that descends from the asset,
/// 422 on custom fields the type does not define or that do not fit it,
/// 409 `serial_number_taken` when the manufacturer's serial number is
/// recorded already. Without `eol_date`, the end-of-life snapshot fills it
/// where the model is mapped or the operating system known (`eol_source`).
#[utoipa::path(post, path = "/v1/assets", tag = "assets", request_body = AssetInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Asset, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn create_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    resource::create::<Asset>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/assets/{id}", tag = "assets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Asset, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["assets:read"])))]
pub async fn get_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::get::<Asset>(&state.store, &caller, id).await
}

/// Changes an asset (the same rules as creating one). Every field changed
/// here becomes the MSP's own (`manual_fields`): RMM inventory no longer
/// overwrites it.
#[utoipa::path(patch, path = "/v1/assets/{id}", tag = "assets",
    request_body(content = AssetPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = Asset, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, AssetsError> {
    resource::patch::<Asset>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes an asset and its license seats: 409 `asset_has_children` while
/// other assets name it as their parent.
#[utoipa::path(delete, path = "/v1/assets/{id}", tag = "assets",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::delete::<Asset>(&state.store, &caller, &headers, id).await
}
