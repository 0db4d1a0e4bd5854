//! The seller's settings (`/v1/billing/settings`): one per tenant.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::JsonValue;
use psa_http::merge_patch;
use psa_kernel::docs::{self, BadRequest, Denied, Invalid, Stale};
use psa_kernel::{Tx, with_etag};

use crate::domain::settings::{Settings, SettingsInput};
use crate::error::Error;
use crate::state::BillingState;
use crate::{INVOICES_READ, INVOICES_WRITE, repo};

psa_kernel::merge_patch!(pub SettingsPatch = SettingsInput);

/// The seller's settings; the defaults (`version` 0) until first written.
#[utoipa::path(get, path = "/v1/billing/settings", tag = "billing",
    responses((status = 200, body = Settings, headers(("ETag" = String))), Denied),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_settings(
    State(state): State<BillingState>,
    caller: Caller,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let s = psa_kernel::read(tx, async |tx| {
        repo::settings::fetch(tx, false).await.map_err(Error::from)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}

/// A JSON Merge Patch of the settings; what changes applies to invoices
/// released from then on (released ones keep the seller they name).
#[utoipa::path(patch, path = "/v1/billing/settings", tag = "billing",
    params(docs::IfMatch),
    request_body(content = SettingsPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Settings, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Stale, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn patch_settings(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    let current = repo::settings::fetch(&mut tx, true).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let Some(next) = merge_patch::changed(&SettingsInput::from(&current), &patch)? else {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    };
    next.validate().map_err(Error::Validation)?;
    let s = repo::settings::write(&mut tx, &next).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}
