//! `/v1/notification-channels`: where rule messages go out, and each
//! channel's message log.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, PathIds, Query};
use psa_http::{FieldError, Problem, merge_patch};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch as IfMatchDoc, Invalid,
    NotFound, Paging, Stale,
};
use psa_kernel::resource::find;
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx, resource, with_etag};
use uuid::Uuid;

use crate::NOTIFICATIONS_ADMIN;
use crate::domain::channel::SmtpSecurity;
use crate::domain::message::MessageDetail;
use crate::domain::{Channel, ChannelInput, Message};
use crate::error::NotifyError;
use crate::events::{CHANNEL_CREATED, CHANNEL_UPDATED};
use crate::repo::channels::{SecretChange, save};
use crate::repo::messages::{self, MessageFilters};
use crate::state::NotifyState;

psa_kernel::merge_patch!(pub ChannelPatch = ChannelInput, keep["enabled"]);

impl psa_kernel::docs::Sorts for Message {
    const SORTS: &'static [psa_kernel::SortField] = messages::SORTS;
}

/// The destinations of `input` through the SSRF guard: the SMTP server,
/// the Teams URL, the SMS provider (422 on the field, with the guard's code).
async fn check_destinations(state: &NotifyState, input: &ChannelInput) -> Result<(), NotifyError> {
    if let Some(e) = &input.email {
        state
            .guard
            .resolve(&e.host, e.port)
            .await
            .map_err(|r| NotifyError::Url("email.host", r))?;
        if e.security == SmtpSecurity::None && !state.config.outbound.allow_http {
            return Err(NotifyError::Url(
                "email.security",
                psa_outbound::Refusal::InsecureScheme,
            ));
        }
    }
    if let Some(t) = &input.teams {
        state
            .guard
            .check(&t.webhook_url)
            .await
            .map_err(|r| NotifyError::Url("teams.webhook_url", r))?;
    }
    if let Some(s) = &input.sms {
        state
            .guard
            .check(&s.base_url)
            .await
            .map_err(|r| NotifyError::Url("sms.base_url", r))?;
    }
    Ok(())
}

/// The tenant's channels. Sorts: `created_at` (default), `updated_at`, `name`.
#[utoipa::path(get, path = "/v1/notification-channels", tag = "notifications",
    params(Paging<Channel>),
    responses((status = 200, body = Page<Channel>), BadRequest, Denied),
    security(("bearer" = ["notifications:admin"])))]
pub async fn list_channels(
    State(state): State<NotifyState>,
    caller: Caller,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Channel>>, NotifyError> {
    resource::list::<Channel>(&state.store, &caller, &page, |_| {}).await
}

/// Adds a channel: `kind` with its settings under the kind's name (`email`,
/// `teams`, `sms`); `secret` is the SMTP password or the SMS provider's
/// token, stored encrypted and never returned. Destinations pass the SSRF
/// guard (422 on the field: `address_not_allowed`, `unresolvable`, …).
#[utoipa::path(post, path = "/v1/notification-channels", tag = "notifications", request_body = ChannelInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Channel, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Invalid,
    ),
    security(("bearer" = ["notifications:admin"])))]
pub async fn create_channel(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, NotifyError> {
    let tx = Tx::begin(&state.store, &caller, NOTIFICATIONS_ADMIN.name).await?;
    // The request may carry a secret: its fingerprint is keyed.
    let idem = idem.sealed(state.keys.clone());
    psa_kernel::post(tx, &idem, body, async |tx, input: ChannelInput| {
        input.validate().map_err(NotifyError::Validation)?;
        check_destinations(&state, &input).await?;
        let secret = match &input.secret {
            Some(s) => SecretChange::Set(state.keys.encrypt(s.as_bytes())),
            None => SecretChange::Clear,
        };
        let id = Uuid::now_v7();
        let row = save(tx, id, &input, secret).await?;
        tx.emit(&CHANNEL_CREATED, id, &row).await?;
        Ok(Stored::created(
            &format!("/v1/notification-channels/{id}"),
            &row,
            row.version,
        )?)
    })
    .await
}

#[utoipa::path(get, path = "/v1/notification-channels/{id}", tag = "notifications",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Channel, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["notifications:admin"])))]
pub async fn get_channel(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::get::<Channel>(&state.store, &caller, id).await
}

/// Changes a channel: `secret` replaces the secret (`null` removes it).
#[utoipa::path(patch, path = "/v1/notification-channels/{id}", tag = "notifications",
    request_body(content = ChannelPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatchDoc),
    responses(
        (status = 200, body = Channel, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Stale, Invalid,
    ),
    security(("bearer" = ["notifications:admin"])))]
pub async fn patch_channel(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(mut patch): JsonValue,
) -> Result<Response, NotifyError> {
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, NOTIFICATIONS_ADMIN.name).await?;
    let Some(members) = patch.as_object_mut() else {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    };
    let new_secret = match members.remove("secret") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) => Some(Some(s)),
        Some(_) => {
            return Err(NotifyError::Validation(vec![FieldError::new(
                "secret",
                "must be a string or null",
            )]));
        }
    };
    let current = find::<Channel>(&mut tx, id, true).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let before =
        serde_json::to_value(ChannelInput::from(&current)).map_err(|e| Problem::internal(&e))?;
    let mut input: ChannelInput = merge_patch::merged(&before, &patch)?;
    input.secret = new_secret.clone().flatten();
    input.validate().map_err(NotifyError::Validation)?;
    input.secret = None;
    if new_secret.is_none() && serde_json::to_value(&input).ok().as_ref() == Some(&before) {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    }
    check_destinations(&state, &input).await?;
    let change = match new_secret {
        None => SecretChange::Keep,
        Some(None) => SecretChange::Clear,
        Some(Some(s)) => SecretChange::Set(state.keys.encrypt(s.as_bytes())),
    };
    let row = save(&mut tx, id, &input, change).await?;
    tx.emit(&CHANNEL_UPDATED, id, &row).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version))
}

/// Removes a channel with its messages; 409 `channel_in_use` while rules
/// send through it.
#[utoipa::path(delete, path = "/v1/notification-channels/{id}", tag = "notifications",
    params(("id" = Uuid, Path), IfMatchDoc),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["notifications:admin"])))]
pub async fn delete_channel(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::delete::<Channel>(&state.store, &caller, &headers, id).await
}

/// The channel's messages (recipient, state, attempts, the last error),
/// oldest first. Filters: `state`, `event_type`, `recipient`.
#[utoipa::path(get, path = "/v1/notification-channels/{id}/messages", tag = "notifications",
    params(("id" = Uuid, Path), MessageFilters, Paging<Message>),
    responses((status = 200, body = Page<Message>), BadRequest, Denied, NotFound),
    security(("bearer" = ["notifications:admin"])))]
pub async fn list_messages(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
    Query(f): Query<MessageFilters>,
) -> Result<axum::Json<Page<Message>>, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, NOTIFICATIONS_ADMIN.name).await?;
    let keyset = f.page.keyset(messages::SORTS, messages::SORTS[0])?;
    find::<Channel>(&mut tx, id, false).await?;
    let page = messages::list(&mut tx, id, &f, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// One message with every attempt (the SMTP reply or the HTTP answer,
/// duration, error).
#[utoipa::path(get, path = "/v1/notification-channels/{id}/messages/{message_id}", tag = "notifications",
    params(("id" = Uuid, Path), ("message_id" = Uuid, Path)),
    responses((status = 200, body = MessageDetail), Denied, NotFound),
    security(("bearer" = ["notifications:admin"])))]
pub async fn get_message(
    State(state): State<NotifyState>,
    caller: Caller,
    PathIds(id, message): PathIds,
) -> Result<axum::Json<MessageDetail>, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, NOTIFICATIONS_ADMIN.name).await?;
    let detail = messages::detail(&mut tx, id, message)
        .await?
        .ok_or_else(Problem::not_found)?;
    tx.commit().await?;
    Ok(axum::Json(detail))
}
