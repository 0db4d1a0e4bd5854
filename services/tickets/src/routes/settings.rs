//! `/v1/tickets/settings`: the tenant's ticket settings.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::JsonValue;
use psa_http::{Problem, merge_patch};
use psa_kernel::docs::{BadRequest, BodyRefused, Denied, IfMatch as IfMatchDoc, Invalid, Stale};
use psa_kernel::{Tx, with_etag};

use crate::domain::settings::{TicketSettings, TicketSettingsInput};
use crate::error::Error;
use crate::state::TicketsState;
use crate::{TICKETS_READ, TICKETS_WRITE, repo};

psa_kernel::merge_patch!(pub TicketSettingsPatch = TicketSettingsInput);

#[utoipa::path(get, path = "/v1/tickets/settings", tag = "tickets",
    responses((status = 200, body = TicketSettings, headers(("ETag" = String))), Denied),
    security(("bearer" = ["tickets:read"])))]
pub async fn get_settings(
    State(state): State<TicketsState>,
    caller: Caller,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let s = repo::settings::get(&mut tx).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}

/// Whether the assets module's `asset.eol` notices open tickets (one per
/// asset, kind, threshold and date), with which priority and queue.
#[utoipa::path(patch, path = "/v1/tickets/settings", tag = "tickets",
    request_body(content = TicketSettingsPatch, content_type = "application/merge-patch+json"),
    params(IfMatchDoc),
    responses((status = 200, body = TicketSettings, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, Stale, Invalid),
    security(("bearer" = ["tickets:write"])))]
pub async fn patch_settings(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let precondition = IfMatch::from_headers(&headers)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_WRITE.name).await?;
    let current = repo::settings::lock(&mut tx).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let before = serde_json::to_value(TicketSettingsInput::from(&current))
        .map_err(|e| Problem::internal(&e))?;
    let input: TicketSettingsInput = merge_patch::merged(&before, &patch)?;
    input.validate().map_err(Error::Validation)?;
    let s = repo::settings::update(&mut tx, &input).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &s, s.version))
}
