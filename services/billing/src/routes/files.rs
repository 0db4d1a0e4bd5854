//! A released document's files: its CII XML (`xrechnung.xml`: XRechnung
//! 3.0 for buyers with a Leitweg-ID, EN 16931 otherwise), its ZUGFeRD PDF
//! (`invoice.pdf`) and the one the buyer's e-invoice format asks for
//! (`document`). Every download returns the bytes kept at release; their
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

use crate::documents::{self, FileKind};
use crate::domain::invoice::InvoiceStatus;
use crate::error::Error;
use crate::state::BillingState;
use crate::{INVOICES_READ, repo};

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
    download(&state, &caller, &headers, id, Some(FileKind::Xml)).await
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
    download(&state, &caller, &headers, id, Some(FileKind::Pdf)).await
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
    download(&state, &caller, &headers, id, None).await
}

/// The file of a released document, as kept. A document released before
/// files were kept gets them now, once, from its frozen data.
pub async fn download(
    state: &BillingState,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
    kind: Option<FileKind>,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, caller, INVOICES_READ.name).await?;
    let inv = repo::invoices::fetch(&mut tx, id, false)
        .await?
        .ok_or_else(Problem::not_found)?;
    if inv.status == InvoiceStatus::Draft {
        return Err(Error::Draft);
    }
    let kind = kind.unwrap_or(match inv.buyer.0.einvoice_format {
        EinvoiceFormat::Xrechnung => FileKind::Xml,
        EinvoiceFormat::Zugferd | EinvoiceFormat::Pdf => FileKind::Pdf,
    });
    let (file, bytes) = match repo::documents::content(&mut tx, id, kind).await? {
        Some(found) => found,
        None => {
            let doc = repo::invoices::document(&mut tx, inv).await?;
            let released_at = doc.invoice.released_at.unwrap_or(doc.invoice.updated_at);
            for f in documents::render(&doc, released_at).map_err(Error::Render)? {
                repo::documents::insert(&mut tx, id, &f).await?;
            }
            repo::documents::content(&mut tx, id, kind)
                .await?
                .ok_or_else(Problem::not_found)?
        }
    };
    tx.commit().await?;
    Ok(negotiate::file(
        headers,
        &file.media_type,
        &file.file_name,
        &file.sha256,
        bytes,
    ))
}
