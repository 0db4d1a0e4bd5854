//! Invoices and credit notes (`/v1/invoices`): listed, read with their
//! lines and VAT breakdown, drafts written by hand, changed and deleted.
//! A released document answers every change with 409 `invoice_released`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_http::{merge_patch, negotiate};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, SortField, Stored, Tx, with_etag};

use crate::documents::FileKind;
use crate::domain::invoice::{
    DraftInput, Invoice, InvoiceDocument, InvoiceStatus, InvoiceType, LineKind, NewInvoice,
};
use crate::error::Error;
use crate::events::INVOICE_GENERATED;
use crate::repo::invoices::{InvoiceFilters, NewDraft, NewLine};
use crate::state::BillingState;
use crate::{INVOICES_READ, INVOICES_WRITE, repo};

psa_kernel::merge_patch!(pub DraftPatch = DraftInput);

impl docs::Sorts for Invoice {
    const SORTS: &'static [SortField] = repo::invoices::SORTS;
}

/// Invoice and credit-note heads (no lines), in creation order (id) or in
/// order of change (`sort=updated_at`); `customer_id` and `run_id` take
/// lists of ids, `per=customer_id` reads the first invoices of each customer.
#[utoipa::path(get, path = "/v1/invoices", tag = "invoices",
    params(InvoiceFilters, docs::Paging<Invoice>, docs::Per<InvoiceFilters>),
    responses((status = 200, body = Page<Invoice>), BadRequest, Denied),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_invoices(
    State(state): State<BillingState>,
    caller: Caller,
    Query(f): Query<InvoiceFilters>,
) -> Result<axum::Json<Page<Invoice>>, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let page = psa_kernel::read(tx, async |tx| {
        let keyset = f
            .page
            .keyset_per(repo::invoices::SORTS, SortField::ID, &f)?;
        Ok::<_, Error>(repo::invoices::list(tx, &f, &keyset).await?)
    })
    .await?;
    Ok(axum::Json(page))
}

/// Credit notes only: the documents of type `credit_note` (whatever `type`
/// says), in creation order or in order of change.
#[utoipa::path(get, path = "/v1/credit-notes", tag = "invoices",
    params(InvoiceFilters, docs::Paging<Invoice>, docs::Per<InvoiceFilters>),
    responses((status = 200, body = Page<Invoice>), BadRequest, Denied),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_credit_notes(
    state: State<BillingState>,
    caller: Caller,
    Query(mut f): Query<InvoiceFilters>,
) -> Result<axum::Json<Page<Invoice>>, Error> {
    f.invoice_type = Some(InvoiceType::CreditNote);
    list_invoices(state, caller, Query(f)).await
}

/// A credit note with its lines and VAT breakdown (404 for an invoice);
/// a released one also as its XML or PDF, by `Accept`.
#[utoipa::path(get, path = "/v1/credit-notes/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, headers(("ETag" = String)), content(
            (InvoiceDocument = "application/json"),
            (Vec<u8> = "application/xml"),
            (Vec<u8> = "application/pdf"))),
        Denied, NotFound, Conflict, docs::NotAcceptable),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_credit_note(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    document_as(
        &state,
        &caller,
        &headers,
        (id, Some(InvoiceType::CreditNote)),
    )
    .await
}

/// The document `id` (of `only` that type) as `Accept` asks: JSON, or a
/// released one's XML or PDF.
async fn document_as(
    state: &BillingState,
    caller: &Caller,
    headers: &HeaderMap,
    (id, only): (uuid::Uuid, Option<InvoiceType>),
) -> Result<Response, Error> {
    let file = match negotiate::preferred(
        headers,
        &["application/json", "application/xml", "application/pdf"],
    )? {
        "application/xml" => FileKind::Xml,
        "application/pdf" => FileKind::Pdf,
        _ => return document_of(state, caller, id, only).await,
    };
    super::files::download(state, caller, headers, (id, only), Some(file)).await
}

/// The document `id` (of `only` that type), 404 otherwise.
async fn document_of(
    state: &BillingState,
    caller: &Caller,
    id: uuid::Uuid,
    only: Option<InvoiceType>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, caller, INVOICES_READ.name).await?;
    let doc = psa_kernel::read(tx, async |tx| {
        let inv = repo::invoices::fetch(tx, id, false)
            .await?
            .filter(|i| only.is_none_or(|t| i.invoice_type == t))
            .ok_or_else(Problem::not_found)?;
        Ok::<_, Error>(repo::invoices::document(tx, inv).await?)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &doc, doc.invoice.version))
}

/// The document with its lines, VAT breakdown, open amount and files; a
/// released one also as its XML (`Accept: application/xml`) or PDF
/// (`Accept: application/pdf`), the bytes kept at release.
#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, headers(("ETag" = String)), content(
            (InvoiceDocument = "application/json"),
            (Vec<u8> = "application/xml"),
            (Vec<u8> = "application/pdf"))),
        Denied, NotFound, Conflict, docs::NotAcceptable),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_invoice(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    document_as(&state, &caller, &headers, (id, None)).await
}

/// A draft written by hand, for a customer billing knows.
#[utoipa::path(post, path = "/v1/invoices", tag = "invoices", request_body = NewInvoice,
    params(docs::IdempotencyKey),
    responses((status = 201, body = InvoiceDocument, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn create_invoice(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: NewInvoice| {
        input.validate().map_err(Error::Validation)?;
        let buyer = repo::projection::buyer(tx, input.customer_id)
            .await?
            .ok_or(Error::UnknownCustomer)?;
        let settings = repo::settings::fetch(tx, false).await?;
        let draft = repo::invoices::insert_draft(
            tx,
            &NewDraft {
                invoice_type: InvoiceType::Invoice,
                customer_id: input.customer_id,
                currency: &input.currency,
                period: (input.period_from, input.period_to),
                notes: input.notes.as_deref(),
                buyer: &buyer,
                preceding: None,
                run_id: None,
            },
        )
        .await?;
        for line in &input.lines {
            let vat = line.vat(&buyer, &settings);
            repo::invoices::insert_line(
                tx,
                draft.id,
                &NewLine {
                    kind: LineKind::Manual,
                    description: &line.description,
                    quantity: line.quantity,
                    unit_code: line.unit_code,
                    unit_price: line.unit_price,
                    net: line.net(),
                    vat_category: vat.category,
                    vat_rate: vat.rate,
                    exemption_reason: vat.exemption_reason.as_deref(),
                    contract_id: None,
                    period: (None, None),
                    credited_line_id: None,
                },
            )
            .await?;
        }
        let draft = repo::invoices::retotal(tx, draft.id).await?;
        let doc = repo::invoices::document(tx, draft).await?;
        tx.emit(&INVOICE_GENERATED, doc.invoice.id, &doc).await?;
        let location = format!("/v1/invoices/{}", doc.invoice.id);
        Ok(Stored::created(&location, &doc, doc.invoice.version)?)
    })
    .await
}

/// The draft, locked, when it may still change: 404 when absent, 412 when
/// `If-Match` is stale, 409 `invoice_released` once released.
pub async fn draft(tx: &mut Tx, headers: &HeaderMap, id: uuid::Uuid) -> Result<Invoice, Error> {
    let precondition = IfMatch::from_headers(headers)?;
    let inv = repo::invoices::fetch(tx, id, true)
        .await?
        .ok_or_else(Problem::not_found)?;
    check_if_match(precondition.as_ref(), inv.version)?;
    if inv.status == InvoiceStatus::Released {
        return Err(Error::InvoiceReleased);
    }
    Ok(inv)
}

/// A JSON Merge Patch of a draft's period and notes. A patch that changes
/// nothing makes no new version.
#[utoipa::path(patch, path = "/v1/invoices/{id}", tag = "invoices",
    params(("id" = Uuid, Path), docs::IfMatch),
    request_body(content = DraftPatch, content_type = "application/merge-patch+json"),
    responses((status = 200, body = InvoiceDocument, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn patch_invoice(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    let current = draft(&mut tx, &headers, id).await?;
    let inv = match merge_patch::changed(&DraftInput::from(&current), &patch)? {
        None => current,
        Some(next) => {
            next.validate().map_err(Error::Validation)?;
            repo::invoices::update_head(
                &mut tx,
                id,
                (next.period_from, next.period_to),
                next.notes.as_deref(),
            )
            .await?
        }
    };
    let doc = repo::invoices::document(&mut tx, inv).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &doc, doc.invoice.version))
}

/// Deletes a draft; its time goes back to approved (to be billed again).
/// A deleted draft never had a number, so no number is lost.
#[utoipa::path(delete, path = "/v1/invoices/{id}", tag = "invoices",
    params(("id" = Uuid, Path), docs::IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["invoices:write"])))]
pub async fn delete_invoice(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    draft(&mut tx, &headers, id).await?;
    let returned = repo::items::give_back(&mut tx, id, None).await?;
    repo::items::announce(&mut tx, &returned).await?;
    repo::invoices::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
