//! `/v1/webhooks`: subscriptions, their secrets, test events, recovery of
//! dead letters and the delivery log.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use psa_authn::Caller;
use psa_events::CloudEvent;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_http::{FieldError, Problem};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch as IfMatchDoc, Invalid,
    NotFound, Paging, Stale,
};
use psa_kernel::resource::find;
use psa_kernel::{Guarded, Idempotency, Page, PageParams, Stored, Tx, resource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::WEBHOOKS_ADMIN;
use crate::domain::delivery::{Recover, Requeued};
use crate::domain::signing::new_secret;
use crate::domain::webhook::{NewWebhook, RotatedSecret, WebhookWithSecret};
use crate::domain::{Attempt, Webhook, WebhookInput};
use crate::error::NotifyError;
use crate::events::{WEBHOOK_CREATED, WEBHOOK_UPDATED};
use crate::repo::deliveries::{self, ATTEMPT_SORTS, AttemptFilters};
use crate::repo::webhooks;
use crate::state::NotifyState;

psa_kernel::merge_patch!(pub WebhookPatch = WebhookInput, keep["enabled"]);

impl psa_kernel::docs::Sorts for Attempt {
    const SORTS: &'static [psa_kernel::SortField] = ATTEMPT_SORTS;
}

/// The tenant's subscriptions. Sorts: `created_at` (default), `updated_at`.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    params(Paging<Webhook>),
    responses((status = 200, body = Page<Webhook>), BadRequest, Denied),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn list_webhooks(
    State(state): State<NotifyState>,
    caller: Caller,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Webhook>>, NotifyError> {
    resource::list::<Webhook>(&state.store, &caller, &page, |_| {}).await
}

/// Subscribes a URL to event types. The answer carries the signing secret,
/// the only time it is shown. The URL must be https (unless the deployment
/// allows http) and resolve to public addresses only: 422 on `url` with
/// `insecure_scheme`, `credentials_in_url`, `address_not_allowed`,
/// `unresolvable` or `invalid_url`. `since` delivers archived events from
/// that time first.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    params(IdempotencyKey),
    responses(
        (status = 201, body = WebhookWithSecret, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Invalid,
    ),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn create_webhook(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, NotifyError> {
    let tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    // The answer shows the secret: it is stored sealed for replays.
    let idem = idem.sealed(state.keys.clone());
    psa_kernel::post(tx, &idem, body, async |tx, new: NewWebhook| {
        new.webhook.validate().map_err(NotifyError::Validation)?;
        if new.since.is_some_and(|s| s > Utc::now()) {
            return Err(NotifyError::Validation(vec![FieldError::with_code(
                "since",
                "in_future",
                "must not be in the future",
            )]));
        }
        state
            .guard
            .check(&new.webhook.url)
            .await
            .map_err(|r| NotifyError::Url("url", r))?;
        let (key, secret) = new_secret();
        let id = Uuid::now_v7();
        let row =
            webhooks::insert(tx, id, &new.webhook, &state.keys.encrypt(&key), new.since).await?;
        tx.emit(&WEBHOOK_CREATED, id, &row).await?;
        let version = row.version;
        let created = WebhookWithSecret {
            webhook: row,
            secret,
        };
        Ok(Stored::created(
            &format!("/v1/webhooks/{id}"),
            &created,
            version,
        )?)
    })
    .await
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Webhook, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn get_webhook(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::get::<Webhook>(&state.store, &caller, id).await
}

/// Changes a subscription (a new URL passes the same checks as at
/// creation). Enabling a disabled one clears its failure streak; its
/// pending deliveries go out again.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatchDoc),
    responses(
        (status = 200, body = Webhook, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Stale, Invalid,
    ),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn patch_webhook(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, NotifyError> {
    caller.require(WEBHOOKS_ADMIN.name)?;
    if let Some(url) = patch.get("url").and_then(|u| u.as_str()) {
        state
            .guard
            .check(url)
            .await
            .map_err(|r| NotifyError::Url("url", r))?;
    }
    resource::patch::<Webhook>(&state.store, &caller, &headers, id, patch).await
}

/// Deletes a subscription with its pending deliveries, dead letters and log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path), IfMatchDoc),
    responses((status = 204), BadRequest, Denied, NotFound, Stale),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn delete_webhook(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::delete::<Webhook>(&state.store, &caller, &headers, id).await
}

/// A new signing secret, shown once. The old one keeps signing beside it
/// (two `v1,` entries in `webhook-signature`) for the grace period, so
/// receivers can switch without losing a delivery.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = Uuid, Path), IdempotencyKey),
    responses((status = 200, body = RotatedSecret), BadRequest, Denied, NotFound, Invalid),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn rotate_secret(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let idem = idem.sealed(state.keys.clone());
    let guard = match idem
        .guard(&mut tx, &serde_json::json!({"rotate": id}))
        .await?
    {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    find::<Webhook>(&mut tx, id, true).await?;
    let (key, secret) = new_secret();
    let grace_until = Utc::now() + chrono::Duration::seconds(state.config.rotation_grace_secs);
    let row = webhooks::rotate(&mut tx, id, &state.keys.encrypt(&key), grace_until).await?;
    tx.emit(&WEBHOOK_UPDATED, id, &row).await?;
    let rotated = RotatedSecret {
        secret,
        // As stored (to the microsecond).
        previous_secret_expires_at: row.previous_secret_expires_at.unwrap_or(grace_until),
    };
    let res = guard
        .finish(&mut tx, Stored::new(StatusCode::OK, &rotated)?)
        .await?;
    tx.commit().await?;
    Ok(res)
}

/// A test event on its way to the subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TestQueued {
    /// The delivery (its attempts appear in the log and in dead letters).
    pub delivery_id: Uuid,
    /// `webhook-id` of the test event.
    pub event_id: Uuid,
}

/// Sends a signed `webhook.test` event through the same queue, retries and
/// log as every delivery. 409 `webhook_disabled` for a disabled subscription.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = Uuid, Path), IdempotencyKey),
    responses((status = 202, body = TestQueued), BadRequest, Denied, NotFound, Conflict, Invalid),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn test_webhook(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let guard = match idem
        .guard(&mut tx, &serde_json::json!({"test": id}))
        .await?
    {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let webhook = find::<Webhook>(&mut tx, id, false).await?;
    if !webhook.enabled {
        return Err(NotifyError::Disabled);
    }
    let event = CloudEvent::new(
        Uuid::now_v7(),
        "psa/notify",
        "webhook.test",
        Utc::now(),
        &id.to_string(),
        tx.tenant(),
        serde_json::json!({"webhook_id": id, "message": "A test event: your endpoint receives and verifies deliveries."}),
    );
    let delivery_id = deliveries::enqueue(&mut tx, id, &event, false)
        .await?
        .ok_or_else(|| {
            Problem::internal(&std::io::Error::other("a new event was already queued"))
        })?;
    let queued = TestQueued {
        delivery_id,
        event_id: event.id,
    };
    let res = guard
        .finish(&mut tx, Stored::new(StatusCode::ACCEPTED, &queued)?)
        .await?;
    tx.commit().await?;
    Ok(res)
}

/// Sends again every dead letter of the subscription whose delivery began
/// in the window (`since` to `until`, default now), each as a new round of
/// attempts signed with the current secret. 409 `webhook_disabled` for a
/// disabled subscription (enable it first).
#[utoipa::path(post, path = "/v1/webhooks/{id}/recover", tag = "webhooks", request_body = Recover,
    params(("id" = Uuid, Path), IdempotencyKey),
    responses((status = 200, body = Requeued), BadRequest, Denied, BodyRefused, NotFound, Conflict, Invalid),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn recover(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, NotifyError> {
    let tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, window: Recover| {
        let until = window.until.unwrap_or_else(Utc::now);
        if until <= window.since {
            return Err(NotifyError::Validation(vec![FieldError::with_code(
                "until",
                "inconsistent",
                "must be after since",
            )]));
        }
        match webhooks::enabled(tx, id).await? {
            None => return Err(Problem::not_found().into()),
            Some(false) => return Err(NotifyError::Disabled),
            Some(true) => {}
        }
        let requeued = deliveries::recover(tx, id, window.since, until).await?;
        Ok(Stored::new(
            StatusCode::OK,
            &Requeued {
                requeued: i64::try_from(requeued).unwrap_or(i64::MAX),
            },
        )?)
    })
    .await
}

/// Every attempt to deliver to the subscription (status, duration, the
/// first 20 kB of the answer, the error), oldest first. Filters: `status`
/// (`delivered`, `failed`, `error`), `event_type`, `event_id`, `since`,
/// `until`.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), AttemptFilters, Paging<Attempt>),
    responses((status = 200, body = Page<Attempt>), BadRequest, Denied, NotFound),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn list_deliveries(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
    Query(f): Query<AttemptFilters>,
) -> Result<axum::Json<Page<Attempt>>, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let keyset = f.page.keyset(ATTEMPT_SORTS, ATTEMPT_SORTS[0])?;
    find::<Webhook>(&mut tx, id, false).await?;
    let page = deliveries::attempts(&mut tx, id, &f, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}
