//! Invoice runs (`/v1/invoice-runs`): started here, carried out in the
//! background customer by customer, read for their progress.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::{Json, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};

use crate::domain::run::{InvoiceRun, NewRun};
use crate::error::Error;
use crate::state::BillingState;
use crate::{INVOICES_READ, INVOICES_WRITE, repo, workers};

impl docs::Sorts for InvoiceRun {
    const SORTS: &'static [SortField] = repo::runs::SORTS;
}

/// Starts a run: 202 with the run, whose progress `GET` shows. Every
/// customer with a contract in the period (or those named) gets one draft
/// per currency with its fees and approved time; what was billed before is
/// not billed again, so a second run over the same period adds nothing.
/// With the same `Idempotency-Key` the same run is answered.
#[utoipa::path(post, path = "/v1/invoice-runs", tag = "invoices", request_body = NewRun,
    params(docs::IdempotencyKey),
    responses((status = 202, body = InvoiceRun, headers(("Location" = String))),
        BadRequest, Denied, docs::BodyRefused, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn start_run(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    let tenant = tx.tenant();
    let mut started = None;
    let res = psa_kernel::post(tx, &idem, body, async |tx, input: NewRun| {
        input.validate().map_err(Error::Validation)?;
        let customers = match &input.customer_ids {
            Some(ids) => {
                let mut ids = ids.clone();
                ids.sort();
                ids.dedup();
                ids
            }
            None => {
                repo::projection::customers_in_period(tx, input.period.from, input.period.to)
                    .await?
            }
        };
        let id = repo::runs::insert(tx, &input, &customers, &caller.subject).await?;
        let run = repo::runs::fetch(tx, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        started = Some(id);
        Ok::<_, Error>(
            Stored::new(StatusCode::ACCEPTED, &run)?
                .header("location", &format!("/v1/invoice-runs/{id}")),
        )
    })
    .await?;
    if let Some(run) = started {
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(e) = workers::process_run(store, tenant, run).await {
                tracing::warn!(%run, error = %e, "invoice run stopped; the resume watch carries it on");
            }
        });
    }
    Ok(res)
}

/// The run and its progress.
#[utoipa::path(get, path = "/v1/invoice-runs/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceRun, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_run(
    State(state): State<BillingState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let run = psa_kernel::read(tx, async |tx| {
        repo::runs::fetch(tx, id)
            .await?
            .ok_or_else(|| Error::from(Problem::not_found()))
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &run, run.version))
}

/// Runs in the order they were started (id), or in order of change.
#[utoipa::path(get, path = "/v1/invoice-runs", tag = "invoices",
    params(docs::Paging<InvoiceRun>),
    responses((status = 200, body = Page<InvoiceRun>), BadRequest, Denied),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_runs(
    State(state): State<BillingState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<InvoiceRun>>, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let page = psa_kernel::read(tx, async |tx| {
        let keyset = params.keyset(repo::runs::SORTS, SortField::ID)?;
        let ids = repo::runs::list_ids(tx, &keyset).await?;
        let mut data = Vec::with_capacity(ids.data.len());
        for (id, _) in ids.data {
            data.extend(repo::runs::fetch(tx, id).await?);
        }
        Ok::<_, Error>(Page {
            data,
            next_cursor: ids.next_cursor,
        })
    })
    .await?;
    Ok(axum::Json(page))
}
