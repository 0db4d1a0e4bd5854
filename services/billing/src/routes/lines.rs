//! A draft's lines (`/v1/invoices/{id}/lines`): added, changed and removed
//! by hand; the draft's totals follow each change. Removing a line an
//! invoice run made gives its time back (approved, to be billed again).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::{Json, JsonValue, PathId, PathIds};
use psa_http::merge_patch;
use psa_http::validate::FieldErrors;
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Stored, Tx, with_etag};
use uuid::Uuid;

use crate::domain::invoice::{
    InvoiceDocument, InvoiceLine, InvoiceType, LINES_MAX, LineInput, LineKind,
};
use crate::error::Error;
use crate::repo::invoices::NewLine;
use crate::routes::invoices::draft;
use crate::state::BillingState;
use crate::{INVOICES_WRITE, repo};

psa_kernel::merge_patch!(pub LinePatch = LineInput);

fn checked(line: &LineInput) -> Result<(), Error> {
    let mut e = FieldErrors::default();
    line.validate_into("", &mut e);
    e.finish().map_err(Error::Validation)
}

/// The draft's line `line_id`, 404 when the draft has none such.
async fn line_of(tx: &mut Tx, invoice: Uuid, line_id: Uuid) -> Result<InvoiceLine, Error> {
    repo::invoices::lines(tx, invoice)
        .await?
        .into_iter()
        .find(|l| l.id == line_id)
        .ok_or_else(|| Problem::not_found().into())
}

/// Adds a line to a draft (VAT from the buyer unless the line says it).
#[utoipa::path(post, path = "/v1/invoices/{id}/lines", tag = "invoices", request_body = LineInput,
    params(("id" = Uuid, Path), docs::IdempotencyKey, docs::IfMatch),
    responses((status = 201, body = InvoiceDocument, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn add_line(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    headers: HeaderMap,
    PathId(id): PathId,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: LineInput| {
        checked(&input)?;
        let inv = draft(tx, &headers, id).await?;
        if inv.invoice_type == InvoiceType::CreditNote {
            return Err(Error::CreditNoteLines);
        }
        if repo::invoices::lines(tx, id).await?.len() >= LINES_MAX {
            return Err(Error::Validation(vec![psa_http::FieldError::new(
                "lines",
                "a document has at most 500 lines",
            )]));
        }
        let settings = repo::settings::fetch(tx, false).await?;
        let vat = input.vat(&inv.buyer, &settings);
        let line = repo::invoices::insert_line(
            tx,
            id,
            &NewLine {
                kind: LineKind::Manual,
                description: &input.description,
                quantity: input.quantity,
                unit_code: input.unit_code,
                unit_price: input.unit_price,
                net: input.net(),
                vat_category: vat.category,
                vat_rate: vat.rate,
                exemption_reason: vat.exemption_reason.as_deref(),
                contract_id: None,
                period: (None, None),
                credited_line_id: None,
            },
        )
        .await?;
        let inv = repo::invoices::retotal(tx, id).await?;
        let doc = repo::invoices::document(tx, inv).await?;
        let location = format!("/v1/invoices/{id}/lines/{}", line.id);
        Ok(Stored::created(&location, &doc, doc.invoice.version)?)
    })
    .await
}

/// A JSON Merge Patch of a draft's line; the draft's totals follow.
#[utoipa::path(patch, path = "/v1/invoices/{id}/lines/{line_id}", tag = "invoices",
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path), docs::IfMatch),
    request_body(content = LinePatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = InvoiceDocument, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn patch_line(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathIds(id, line_id): PathIds,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    let mut inv = draft(&mut tx, &headers, id).await?;
    if inv.invoice_type == InvoiceType::CreditNote {
        return Err(Error::CreditNoteLines);
    }
    let current = line_of(&mut tx, id, line_id).await?;
    if let Some(next) = merge_patch::changed(&LineInput::from(&current), &patch)? {
        checked(&next)?;
        let settings = repo::settings::fetch(&mut tx, false).await?;
        let vat = next.vat(&inv.buyer, &settings);
        repo::invoices::update_line(
            &mut tx,
            line_id,
            &NewLine {
                kind: current.kind,
                description: &next.description,
                quantity: next.quantity,
                unit_code: next.unit_code,
                unit_price: next.unit_price,
                // A run's line keeps its amount (a prorated fee, time at
                // the rate) unless its quantity or price changes.
                net: if (next.quantity, next.unit_price) == (current.quantity, current.unit_price) {
                    current.net_amount
                } else {
                    next.net()
                },
                vat_category: vat.category,
                vat_rate: vat.rate,
                exemption_reason: vat.exemption_reason.as_deref(),
                contract_id: current.contract_id,
                period: (current.period_from, current.period_to),
                credited_line_id: current.credited_line_id,
            },
        )
        .await?;
        inv = repo::invoices::retotal(&mut tx, id).await?;
    }
    let doc = repo::invoices::document(&mut tx, inv).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &doc, doc.invoice.version))
}

/// Removes a draft's line; time it billed goes back to approved.
#[utoipa::path(delete, path = "/v1/invoices/{id}/lines/{line_id}", tag = "invoices",
    params(("id" = Uuid, Path), ("line_id" = Uuid, Path), docs::IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["invoices:write"])))]
pub async fn delete_line(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathIds(id, line_id): PathIds,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    draft(&mut tx, &headers, id).await?;
    line_of(&mut tx, id, line_id).await?;
    let returned = repo::items::give_back(&mut tx, id, Some(line_id)).await?;
    repo::items::announce(&mut tx, &returned).await?;
    repo::invoices::delete_line(&mut tx, line_id).await?;
    repo::invoices::retotal(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
