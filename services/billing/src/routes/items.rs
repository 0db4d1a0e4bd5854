//! Billable items (`/v1/billing/items`): billable time entries, approved
//! (`time:approve`) or written off before an invoice run bills them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::{PathId, Query};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Page, SortField, Stored, Tx, with_etag};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::item::{BillableItem, IDS_MAX, ItemIds, ItemStatus};
use crate::error::Error;
use crate::repo::items::ItemFilters;
use crate::state::BillingState;
use crate::{INVOICES_READ, INVOICES_WRITE, TIME_APPROVE, repo};

impl docs::Sorts for BillableItem {
    const SORTS: &'static [SortField] = repo::items::SORTS;
}

/// In booking order (id), or in order of change (`sort=updated_at`).
#[utoipa::path(get, path = "/v1/billing/items", tag = "billing",
    params(ItemFilters, docs::Paging<BillableItem>),
    responses((status = 200, body = Page<BillableItem>), BadRequest, Denied),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_items(
    State(state): State<BillingState>,
    caller: Caller,
    Query(f): Query<ItemFilters>,
) -> Result<axum::Json<Page<BillableItem>>, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let page = psa_kernel::read(tx, async |tx| {
        let keyset = f.page.keyset(repo::items::SORTS, SortField::ID)?;
        Ok::<_, Error>(repo::items::list(tx, &f, &keyset).await?)
    })
    .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/billing/items/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = BillableItem, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_item(
    State(state): State<BillingState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let item = psa_kernel::read(tx, async |tx| {
        repo::items::fetch(tx, id)
            .await?
            .ok_or_else(|| Error::from(Problem::not_found()))
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &item, item.version))
}

/// The items an action changed (and those it found as asked already).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Items {
    pub data: Vec<BillableItem>,
}

/// Moves every named item from one of `from` to `to`, all or none: an id
/// the tenant does not have is 404, an item in another state 409
/// `item_state`; items already in `to` stay as they are.
async fn act(
    tx: &mut Tx,
    input: ItemIds,
    from: &[ItemStatus],
    to: ItemStatus,
    by: &str,
) -> Result<Stored, Error> {
    let mut ids = input.ids;
    if ids.is_empty() || ids.len() > IDS_MAX {
        return Err(Error::Validation(vec![psa_http::FieldError::new(
            "ids",
            "1 to 200 ids",
        )]));
    }
    ids.sort();
    ids.dedup();
    let found = repo::items::lock(tx, &ids).await?;
    if found.len() != ids.len() {
        return Err(Problem::not_found()
            .with_detail("some of the ids name no billable item")
            .into());
    }
    if let Some(bad) = found
        .iter()
        .find(|i| i.status != to && !from.contains(&i.status))
    {
        return Err(Error::ItemState {
            id: bad.id,
            status: bad.status,
        });
    }
    let changed = repo::items::set_status(tx, &ids, from, to, Some(by)).await?;
    repo::items::announce(tx, &changed).await?;
    let data = repo::items::lock(tx, &ids).await?;
    Ok(Stored::new(StatusCode::OK, &Items { data })?)
}

/// Approves pending items for invoicing (an approved one stays as it is).
#[utoipa::path(post, path = "/v1/billing/items/approve", tag = "billing", request_body = ItemIds,
    params(docs::IdempotencyKey),
    responses((status = 200, body = Items), BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Invalid),
    security(("bearer" = ["time:approve"])))]
pub async fn approve_items(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    psa_http::extract::Json(body): psa_http::extract::Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, TIME_APPROVE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: ItemIds| {
        act(
            tx,
            input,
            &[ItemStatus::Pending],
            ItemStatus::Approved,
            &caller.subject,
        )
        .await
    })
    .await
}

/// Writes off pending or approved items: they will never be invoiced.
#[utoipa::path(post, path = "/v1/billing/items/write-off", tag = "billing", request_body = ItemIds,
    params(docs::IdempotencyKey),
    responses((status = 200, body = Items), BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn write_off_items(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    psa_http::extract::Json(body): psa_http::extract::Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: ItemIds| {
        act(
            tx,
            input,
            &[ItemStatus::Pending, ItemStatus::Approved],
            ItemStatus::WrittenOff,
            &caller.subject,
        )
        .await
    })
    .await
}
