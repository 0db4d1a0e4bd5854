//! Time entries: booked on a ticket (`/v1/tickets/{id}/time-entries`),
//! listed, corrected and removed (`/v1/time-entries`) until billed.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};
use uuid::Uuid;

use crate::domain::time_entry::{TimeEntry, TimeEntryInput};
use crate::error::Error;
use crate::repo::time_entries::TimeEntryFilters;
use crate::state::TicketsState;
use crate::{TICKETS_READ, TIME_WRITE, events, repo};
use psa_http::merge_patch;

psa_kernel::merge_patch!(pub TimeEntryPatch = TimeEntryInput);

impl docs::Sorts for TimeEntry {
    const SORTS: &'static [SortField] = repo::time_entries::SORTS;
}

/// Books time on a ticket (404 for a ticket the tenant does not have); 422
/// `out_of_range` for a `started_at` whose UTC date is past the year 9999.
#[utoipa::path(post, path = "/v1/tickets/{id}/time-entries", tag = "time", request_body = TimeEntryInput,
    params(("id" = Uuid, Path), docs::IdempotencyKey),
    responses((status = 201, body = TimeEntry, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Invalid),
    security(("bearer" = ["time:write"])))]
pub async fn log_time(
    State(state): State<TicketsState>,
    caller: Caller,
    idem: Idempotency,
    PathId(ticket_id): PathId,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, TIME_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: TimeEntryInput| {
        input.validate().map_err(Error::Validation)?;
        repo::tickets::fetch(tx, ticket_id)
            .await?
            .ok_or_else(Problem::not_found)?;
        let entry = repo::time_entries::insert(tx, ticket_id, &caller.subject, &input).await?;
        tx.emit(&events::TIME_ENTRY_LOGGED, entry.id, &entry)
            .await?;
        let location = format!("/v1/time-entries/{}", entry.id);
        Ok(Stored::created(&location, &entry, entry.version)?)
    })
    .await
}

/// In booking order (id), or in order of change (`sort=updated_at`; the
/// order of an `updated_since` without a sort). `ticket_id` takes a list
/// of ids, and `per=ticket_id` reads the first entries of each ticket.
#[utoipa::path(get, path = "/v1/time-entries", tag = "time",
    params(TimeEntryFilters, docs::Paging<TimeEntry>, docs::Per<TimeEntryFilters>),
    responses((status = 200, body = Page<TimeEntry>), BadRequest, Denied),
    security(("bearer" = ["tickets:read"])))]
pub async fn list_time_entries(
    State(state): State<TicketsState>,
    caller: Caller,
    Query(f): Query<TimeEntryFilters>,
) -> Result<axum::Json<Page<TimeEntry>>, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let keyset = f
        .page
        .keyset_per(repo::time_entries::SORTS, SortField::ID, &f)?;
    let page = repo::time_entries::list(&mut tx, &f, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// The ticket's time entries in booking order (id), or in order of change
/// (`sort=updated_at`; the order of an `updated_since` without a sort).
#[utoipa::path(get, path = "/v1/tickets/{id}/time-entries", tag = "time",
    params(("id" = Uuid, Path), docs::Paging<TimeEntry>),
    responses((status = 200, body = Page<TimeEntry>), BadRequest, Denied, NotFound),
    security(("bearer" = ["tickets:read"])))]
pub async fn ticket_time_entries(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(ticket_id): PathId,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<TimeEntry>>, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    repo::tickets::fetch(&mut tx, ticket_id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let keyset = params.keyset(repo::time_entries::SORTS, SortField::ID)?;
    let filters = TimeEntryFilters {
        ticket_id: Some(vec![ticket_id].into()),
        ..Default::default()
    };
    let page = repo::time_entries::list(&mut tx, &filters, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/time-entries/{id}", tag = "time", params(("id" = Uuid, Path)),
    responses((status = 200, body = TimeEntry, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["tickets:read"])))]
pub async fn get_time_entry(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let entry = repo::time_entries::fetch(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &entry, entry.version))
}

/// The entry, locked, when it may still change: 404 when absent, 412 when
/// `If-Match` is stale, 409 `time_entry_billed` once billing has it.
async fn unbilled(tx: &mut Tx, headers: &HeaderMap, id: Uuid) -> Result<TimeEntry, Error> {
    let precondition = IfMatch::from_headers(headers)?;
    let entry = repo::time_entries::lock(tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    check_if_match(precondition.as_ref(), entry.version)?;
    if entry.is_billed() {
        return Err(Error::TimeEntryBilled);
    }
    Ok(entry)
}

/// A JSON Merge Patch of the entry (`time_entry.updated`). A billed entry
/// is frozen: 409 `time_entry_billed`. A patch that changes nothing makes
/// no new version and no event.
#[utoipa::path(patch, path = "/v1/time-entries/{id}", tag = "time",
    params(("id" = Uuid, Path), docs::IfMatch),
    request_body(content = TimeEntryPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TimeEntry, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid),
    security(("bearer" = ["time:write"])))]
pub async fn patch_time_entry(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TIME_WRITE.name).await?;
    let current = unbilled(&mut tx, &headers, id).await?;
    let Some(next) = merge_patch::changed(&TimeEntryInput::from(&current), &patch)? else {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    };
    next.validate().map_err(Error::Validation)?;
    let entry = repo::time_entries::update(&mut tx, id, &next).await?;
    tx.emit(&events::TIME_ENTRY_UPDATED, id, &entry).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &entry, entry.version))
}

/// Removes an unbilled entry; `time_entry.deleted` carries it as it was.
/// A billed entry stays: 409 `time_entry_billed`.
#[utoipa::path(delete, path = "/v1/time-entries/{id}", tag = "time",
    params(("id" = Uuid, Path), docs::IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["time:write"])))]
pub async fn delete_time_entry(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TIME_WRITE.name).await?;
    let entry = unbilled(&mut tx, &headers, id).await?;
    repo::time_entries::delete(&mut tx, id).await?;
    tx.emit(&events::TIME_ENTRY_DELETED, id, &entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
