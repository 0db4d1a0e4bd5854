//! `/v1/tickets`: open, list, read and change tickets.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, SortField, Stored, Tx, with_etag};
use uuid::Uuid;

use crate::domain::sla::{Change, Clocks, DueTimes};
use crate::domain::ticket::{self, NewTicket, Ticket, TicketPatch};
use crate::error::Error;
use crate::repo::tickets::TicketFilters;
use crate::state::TicketsState;
use crate::{TICKETS_READ, TICKETS_WRITE, events, repo};
use psa_http::merge_patch;

psa_kernel::merge_patch!(pub TicketChanges = TicketPatch);

impl docs::Sorts for Ticket {
    const SORTS: &'static [SortField] = repo::tickets::SORTS;
}

/// Opens a ticket: numbered per tenant, due times from the customer's
/// contract in force. 422 `unknown_customer` for a customer tickets do not
/// know (CRM's events bring them), 422 `not_found` (`asset_id`) for an
/// asset that is not the customer's (the assets module's events bring them).
#[utoipa::path(post, path = "/v1/tickets", tag = "tickets", request_body = NewTicket,
    params(docs::IdempotencyKey),
    responses((status = 201, body = Ticket, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Invalid),
    security(("bearer" = ["tickets:write"])))]
pub async fn create_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, TICKETS_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: NewTicket| {
        input.validate().map_err(Error::Validation)?;
        if !repo::projection::customer_known(tx, input.customer_id).await? {
            return Err(Error::UnknownCustomer);
        }
        if let Some(asset) = input.asset_id
            && !repo::projection::asset_of(tx, asset, input.customer_id).await?
        {
            return Err(Error::UnknownAsset);
        }
        let number = repo::tickets::next_number(tx).await?;
        let at = Utc::now();
        let terms = repo::projection::terms_for_customer(tx, input.customer_id).await?;
        let opened = repo::tickets::Opened {
            id: Uuid::now_v7(),
            number: ticket::number(number),
            input: &input,
            contract_id: terms.as_ref().map(|t| t.contract_id),
            due: terms
                .as_ref()
                .map(|t| t.due_times(input.priority, at))
                .unwrap_or_default(),
            at,
        };
        let row = repo::tickets::insert(tx, &opened).await?;
        tx.emit(&events::TICKET_CREATED, row.id, &row).await?;
        let location = format!("/v1/tickets/{}", row.id);
        Ok(Stored::created(&location, &row, row.version)?)
    })
    .await
}

/// Sorts: `created_at` (default), `updated_at`, `number`; `-` for descending.
/// `customer_id`, `contact_id` and `asset_id` take lists of ids, and `per`
/// reads the first tickets of each of them.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets",
    params(TicketFilters, docs::Paging<Ticket>, docs::Per<TicketFilters>),
    responses((status = 200, body = Page<Ticket>), BadRequest, Denied),
    security(("bearer" = ["tickets:read"])))]
pub async fn list_tickets(
    State(state): State<TicketsState>,
    caller: Caller,
    Query(f): Query<TicketFilters>,
) -> Result<axum::Json<Page<Ticket>>, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let keyset = f
        .page
        .keyset_per(repo::tickets::SORTS, SortField::CREATED_AT, &f)?;
    let page = repo::tickets::list(&mut tx, &f, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["tickets:read"])))]
pub async fn get_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let row = repo::tickets::fetch(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version))
}

/// A JSON Merge Patch of the ticket's fields; the status follows the
/// workflow, a new priority recomputes the due times, leaving `waiting`
/// moves them by the business time paused. A patch that changes nothing
/// makes no new version and no event. 409 `illegal_transition` for a
/// status the workflow does not allow from the current one.
#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "tickets",
    params(("id" = Uuid, Path), docs::IfMatch),
    request_body(content = TicketChanges, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Ticket, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid),
    security(("bearer" = ["tickets:write"])))]
pub async fn patch_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_WRITE.name).await?;
    let current = repo::tickets::lock(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    check_if_match(precondition.as_ref(), current.version)?;
    let Some(next) = merge_patch::changed(&TicketPatch::from(&current), &patch)? else {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    };
    next.validate().map_err(Error::Validation)?;
    if let Some(asset) = next.asset_id
        && next.asset_id != current.asset_id
        && !repo::projection::asset_of(&mut tx, asset, current.customer_id).await?
    {
        return Err(Error::UnknownAsset);
    }
    current.status.transition(next.status)?;
    let terms = match current.contract_id {
        Some(contract) => repo::projection::terms_of_contract(&mut tx, contract).await?,
        None => None,
    };
    let clocks = Clocks {
        due: DueTimes {
            response: current.response_due_at,
            resolution: current.resolution_due_at,
        },
        waiting_since: repo::tickets::waiting_since(&mut tx, id).await?,
        resolved_at: current.resolved_at,
    }
    .after(&Change {
        terms: terms.as_ref(),
        opened: current.created_at,
        from: (current.status, current.priority),
        to: (next.status, next.priority),
        now: Utc::now(),
    });
    let row = repo::tickets::update(&mut tx, id, &next, &clocks).await?;
    tx.emit(&events::TICKET_UPDATED, id, &row).await?;
    if row.status != current.status {
        tx.emit(&events::TICKET_STATUS_CHANGED, id, &row).await?;
    }
    if row.assignee_id != current.assignee_id {
        tx.emit(&events::TICKET_ASSIGNED, id, &row).await?;
    }
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version))
}
