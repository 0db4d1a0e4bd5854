//! `/v1/tickets/{id}/comments`: notes and answers on a ticket;
//! `/v1/ticket-comments`: those of many tickets at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::{Json, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Keyset, Page, PageParams, SortField, Stored, Tx};

use crate::domain::comment::{Comment, NewComment};
use crate::error::Error;
use crate::events::{self, CommentAdded};
use crate::repo::comments::CommentFilters;
use crate::state::TicketsState;
use crate::{TICKETS_READ, TICKETS_WRITE, repo};

/// The first public comment is the ticket's first response (it stops the
/// response clock and changes the ticket).
#[utoipa::path(post, path = "/v1/tickets/{id}/comments", tag = "tickets", request_body = NewComment,
    params(("id" = Uuid, Path), docs::IdempotencyKey),
    responses((status = 201, body = Comment), BadRequest, Denied, docs::BodyRefused, NotFound,
        Invalid),
    security(("bearer" = ["tickets:write"])))]
pub async fn add_comment(
    State(state): State<TicketsState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, TICKETS_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: NewComment| {
        input.validate().map_err(Error::Validation)?;
        let mut ticket = repo::tickets::lock(tx, id)
            .await?
            .ok_or_else(Problem::not_found)?;
        let comment = repo::comments::insert(tx, id, &caller.subject, &input).await?;
        if input.is_first_response(&ticket) {
            ticket = repo::tickets::set_first_response(tx, id, comment.created_at).await?;
            tx.emit(&events::TICKET_UPDATED, id, &ticket).await?;
        }
        let added = CommentAdded { ticket, comment };
        tx.emit(&events::TICKET_COMMENT_ADDED, id, &added).await?;
        Ok(Stored::new(StatusCode::CREATED, &added.comment)?)
    })
    .await
}

/// Oldest first, by id.
#[utoipa::path(get, path = "/v1/tickets/{id}/comments", tag = "tickets",
    params(("id" = Uuid, Path), docs::Paging<docs::ById>),
    responses((status = 200, body = Page<Comment>), BadRequest, Denied, NotFound),
    security(("bearer" = ["tickets:read"])))]
pub async fn list_comments(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Comment>>, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let keyset = Keyset::by_id(&params)?;
    repo::tickets::fetch(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let page = repo::comments::list(&mut tx, &vec![id].into(), &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// The comments of the tickets `ticket_id` names (batch reads: 1 to 100
/// ids; a ticket the tenant does not have has none), oldest first, as
/// `/v1/tickets/{id}/comments` lists them; `per=ticket_id` reads the
/// first comments of each ticket.
#[utoipa::path(get, path = "/v1/ticket-comments", tag = "tickets",
    params(CommentFilters, docs::Paging<docs::ById>, docs::Per<CommentFilters>),
    responses((status = 200, body = Page<Comment>), BadRequest, Denied),
    security(("bearer" = ["tickets:read"])))]
pub async fn list_ticket_comments(
    State(state): State<TicketsState>,
    caller: Caller,
    Query(f): Query<CommentFilters>,
) -> Result<axum::Json<Page<Comment>>, Error> {
    let mut tx = Tx::begin(&state.store, &caller, TICKETS_READ.name).await?;
    let keyset = f.page.keyset_per(&[SortField::ID], SortField::ID, &f)?;
    let tickets = f.ticket_id.as_ref().ok_or_else(|| {
        Problem::bad_request("ticket_id is required: the tickets whose comments to list")
            .with_code("invalid_query")
    })?;
    let page = repo::comments::list(&mut tx, tickets, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}
