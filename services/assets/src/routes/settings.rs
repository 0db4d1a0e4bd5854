//! `/v1/assets/settings`: when the watch runs and at which thresholds.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::JsonValue;
use psa_http::{Problem, merge_patch};
use psa_kernel::docs::{BadRequest, BodyRefused, Denied, IfMatch as IfMatchDoc, Invalid, Stale};
use psa_kernel::{Tx, with_etag};

use crate::domain::settings::{AssetSettings, AssetSettingsInput};
use crate::error::AssetsError;
use crate::repo;
use crate::state::AssetsState;
use crate::{ASSETS_READ, ASSETS_WRITE};

psa_kernel::merge_patch!(pub AssetSettingsPatch = AssetSettingsInput);

#[utoipa::path(get, path = "/v1/assets/settings", tag = "assets",
    responses((status = 200, body = AssetSettings, headers(("ETag" = String))), Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn get_settings(
    State(state): State<AssetsState>,
    caller: Caller,
) -> Result<Response, AssetsError> {
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_READ.name).await?;
    let s = repo::settings::get(&mut tx).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}

/// Sets the watch's time zone, hour and thresholds (days before a date;
/// 0 is the day itself). A threshold added later reports items that
/// crossed it from the next run on.
#[utoipa::path(patch, path = "/v1/assets/settings", tag = "assets",
    request_body(content = AssetSettingsPatch, content_type = "application/merge-patch+json"),
    params(IfMatchDoc),
    responses((status = 200, body = AssetSettings, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, Stale, Invalid),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_settings(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    JsonValue(patch): JsonValue,
) -> Result<Response, AssetsError> {
    let precondition = IfMatch::from_headers(&headers)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    let current = repo::settings::lock(&mut tx).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let before = serde_json::to_value(AssetSettingsInput::from(&current))
        .map_err(|e| Problem::internal(&e))?;
    let input: AssetSettingsInput = merge_patch::merged(&before, &patch)?;
    input.validate().map_err(AssetsError::Validation)?;
    let s = repo::settings::update(&mut tx, &input).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}
