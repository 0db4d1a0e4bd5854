//! A released document's files: its CII XML (`xrechnung.xml`: XRechnung
//! 3.0 for buyers with a Leitweg-ID, EN 16931 otherwise), its ZUGFeRD PDF
//! (`invoice.pdf`) and the one the buyer's e-invoice format asks for
//! (`document`), for invoices and credit notes alike (`/v1/credit-notes/{id}`
//! serves them by `Accept`). Every download returns the bytes kept at release; their
//! SHA-256 is the entity tag and is in `invoice.released`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_crm::domain::customer::EinvoiceFormat;
use psa_http::Problem;
use psa_http::extract::PathId;
use psa_http::negotiate;
use psa_kernel::Tx;
use psa_kernel::docs::{Conflict, Denied, NotFound};
use uuid::Uuid;

use crate::documents::FileKind;
use crate::domain::invoice::{InvoiceStatus, InvoiceType};
use crate::error::Error;
use crate::state::BillingState;
use crate::{INVOICES_READ, repo, workers};

/// The document's XML: XRechnung 3.0 (CII) where the buyer has a
/// Leitweg-ID, else the EN 16931 CII the PDF carries. 409
/// `invoice_not_released` for a draft.
#[utoipa::path(get, path = "/v1/invoices/{id}/xrechnung.xml", tag = "invoices",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/xml", body = Vec<u8>,
            headers(("ETag" = String, description = "the SHA-256 of the bytes"))),
        Denied, NotFound, Conflict),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_xml(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    download(&state, &caller, &headers, (id, None), Some(FileKind::Xml)).await
}

/// The document as a ZUGFeRD / Factur-X PDF/A-3 (profile EN 16931) with
/// its CII XML inside as `factur-x.xml`. 409 `invoice_not_released` for a
/// draft.
#[utoipa::path(get, path = "/v1/invoices/{id}/invoice.pdf", tag = "invoices",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>,
            headers(("ETag" = String, description = "the SHA-256 of the bytes"))),
        Denied, NotFound, Conflict),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_pdf(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    download(&state, &caller, &headers, (id, None), Some(FileKind::Pdf)).await
}

/// The file the buyer's e-invoice format asks for: the XML for XRechnung
/// buyers, the PDF for the others.
#[utoipa::path(get, path = "/v1/invoices/{id}/document", tag = "invoices",
    params(("id" = Uuid, Path)),
    responses((status = 200, headers(("ETag" = String, description = "the SHA-256 of the bytes")),
            content((Vec<u8> = "application/xml"), (Vec<u8> = "application/pdf"))),
        Denied, NotFound, Conflict),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_document(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, Error> {
    download(&state, &caller, &headers, (id, None), None).await
}

/// The file of a released document, as kept.
pub async fn download(
    state: &BillingState,
    caller: &Caller,
    headers: &HeaderMap,
    (id, only): (Uuid, Option<InvoiceType>),
    kind: Option<FileKind>,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, caller, INVOICES_READ.name).await?;
    let inv = repo::invoices::fetch(&mut tx, id, false)
        .await?
        .filter(|i| only.is_none_or(|t| i.invoice_type == t))
        .ok_or_else(Problem::not_found)?;
    if inv.status == InvoiceStatus::Draft {
        return Err(Error::Draft);
    }
    let kind = kind.unwrap_or(match inv.buyer.0.einvoice_format {
        EinvoiceFormat::Xrechnung => FileKind::Xml,
        EinvoiceFormat::Zugferd | EinvoiceFormat::Pdf => FileKind::Pdf,
    });
    let mut found = repo::documents::content(&mut tx, id, kind).await?;
    tx.commit().await?;
    if found.is_none() {
        // Released a moment ago and not yet rendered: render it now (or
        // wait for whoever is), then read it.
        workers::finish_release(&state.store, caller.tenant()?, id).await?;
        let mut tx = Tx::begin(&state.store, caller, INVOICES_READ.name).await?;
        found = repo::documents::content(&mut tx, id, kind).await?;
        tx.commit().await?;
    }
    let (file, bytes) = found.ok_or_else(Problem::not_found)?;
    Ok(negotiate::file(
        headers,
        &file.media_type,
        &file.file_name,
        &file.sha256,
        bytes,
    ))
}
