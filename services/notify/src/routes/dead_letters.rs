//! `/v1/dead-letters`: events whose every attempt failed, kept for replay.

use axum::extract::State;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::{PathId, Query};
use psa_kernel::docs::{BadRequest, Conflict, Denied, IdempotencyKey, Invalid, NotFound, Paging};
use psa_kernel::{Guarded, Idempotency, Page, Stored, Tx, with_etag};

use crate::WEBHOOKS_ADMIN;
use crate::domain::DeadLetter;
use crate::domain::delivery::Requeued;
use crate::error::NotifyError;
use crate::repo::deliveries::{self, DEAD_LETTER_SORTS, DeadLetterFilters};
use crate::repo::webhooks;
use crate::state::NotifyState;

impl psa_kernel::docs::Sorts for DeadLetter {
    const SORTS: &'static [psa_kernel::SortField] = DEAD_LETTER_SORTS;
}

/// The tenant's dead letters, oldest first. Filters: `webhook_id`, `event_type`.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "webhooks",
    params(DeadLetterFilters, Paging<DeadLetter>),
    responses((status = 200, body = Page<DeadLetter>), BadRequest, Denied),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn list_dead_letters(
    State(state): State<NotifyState>,
    caller: Caller,
    Query(f): Query<DeadLetterFilters>,
) -> Result<axum::Json<Page<DeadLetter>>, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let keyset = f.page.keyset(DEAD_LETTER_SORTS, DEAD_LETTER_SORTS[0])?;
    let page = deliveries::dead_letters(&mut tx, &f, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// One dead letter with every attempt (status, duration, error, the first
/// 20 kB of each answer).
#[utoipa::path(get, path = "/v1/dead-letters/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = DeadLetter), Denied, NotFound),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn get_dead_letter(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let letter = deliveries::dead_letter(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    tx.commit().await?;
    let version = i64::from(letter.attempt_count);
    Ok(with_etag(axum::http::StatusCode::OK, &letter, version))
}

/// Sends the event again as a new round of attempts, signed with the
/// current secret. 409 `not_a_dead_letter` once it is pending or
/// delivered again, `webhook_disabled` while its subscription is disabled.
#[utoipa::path(post, path = "/v1/dead-letters/{id}/replay", tag = "webhooks",
    params(("id" = Uuid, Path), IdempotencyKey),
    responses((status = 202, body = Requeued), BadRequest, Denied, NotFound, Conflict, Invalid),
    security(("bearer" = ["webhooks:admin"])))]
pub async fn replay_dead_letter(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    let mut tx = Tx::begin(&state.store, &caller, WEBHOOKS_ADMIN.name).await?;
    let guard = match idem
        .guard(&mut tx, &serde_json::json!({"replay": id}))
        .await?
    {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let letter = deliveries::dead_letter(&mut tx, id).await?;
    if let Some(letter) = &letter
        && webhooks::enabled(&mut tx, letter.webhook_id).await? == Some(false)
    {
        return Err(NotifyError::Disabled);
    }
    match deliveries::replay(&mut tx, id).await? {
        None => return Err(Problem::not_found().into()),
        Some(false) => return Err(NotifyError::NotDead),
        Some(true) => {}
    }
    let res = guard
        .finish(
            &mut tx,
            Stored::new(axum::http::StatusCode::ACCEPTED, &Requeued { requeued: 1 })?,
        )
        .await?;
    tx.commit().await?;
    Ok(res)
}
