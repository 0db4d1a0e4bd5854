//! `/v1/asset-types`: the tenant's catalogue of asset types and their
//! custom fields.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch, Invalid, NotFound, Paging,
    Stale,
};
use psa_kernel::{Idempotency, Page, PageParams, resource};

use crate::domain::{AssetType, AssetTypeInput};
use crate::error::AssetsError;
use crate::state::AssetsState;

psa_kernel::merge_patch!(pub AssetTypePatch = AssetTypeInput);

/// The catalogue (a tenant starts with workstation, laptop, server,
/// virtual machine, firewall, switch, router, access point, printer,
/// storage, phone, cloud tenant and other). Sorts: `created_at`
/// (default), `updated_at`, `name`, `key`.
#[utoipa::path(get, path = "/v1/asset-types", tag = "assets",
    params(Paging<AssetType>),
    responses((status = 200, body = Page<AssetType>), BadRequest, Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn list_asset_types(
    State(state): State<AssetsState>,
    caller: Caller,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<AssetType>>, AssetsError> {
    resource::list::<AssetType>(&state.store, &caller, &page, |_| {}).await
}

/// A new type: 409 `asset_type_taken` for a key the catalogue has.
#[utoipa::path(post, path = "/v1/asset-types", tag = "assets", request_body = AssetTypeInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = AssetType, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn create_asset_type(
    State(state): State<AssetsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    resource::create::<AssetType>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/asset-types/{id}", tag = "assets", params(("id" = Uuid, Path)),
    responses((status = 200, body = AssetType, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["assets:read"])))]
pub async fn get_asset_type(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::get::<AssetType>(&state.store, &caller, id).await
}

/// Renames a type or changes its fields (existing values are checked
/// again when their asset is next written); 422 `immutable` for `key`.
#[utoipa::path(patch, path = "/v1/asset-types/{id}", tag = "assets",
    request_body(content = AssetTypePatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, body = AssetType, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_asset_type(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, AssetsError> {
    resource::patch::<AssetType>(&state.store, &caller, &headers, id, patch).await
}

/// Removes a type: 409 `asset_type_in_use` while assets have it.
#[utoipa::path(delete, path = "/v1/asset-types/{id}", tag = "assets",
    params(("id" = Uuid, Path), IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_asset_type(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::delete::<AssetType>(&state.store, &caller, &headers, id).await
}
