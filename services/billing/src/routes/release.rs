//! Release (`POST /v1/invoices/{id}/release`) and credit notes (`POST
//! /v1/invoices/{id}/credit-notes`).
//!
//! Release is one transaction: it checks the draft (seller and buyer data,
//! totals, both VAT ids for reverse charge, what a credit note may still
//! credit), takes the next number of the tenant's series as its last step
//! (a release that fails uses none), dates and freezes the document. Its
//! aftermath, in a transaction of its own so that rendering never holds
//! the series' lock, renders the XML and PDF once, keeps them and records
//! `invoice.released` or `credit_note.released` with their SHA-256.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, Utc};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, Problem};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound};
use psa_kernel::{Guarded, Idempotency, Stored, Tx, with_etag};
use uuid::Uuid;

use crate::domain::invoice::{
    Invoice, InvoiceDocument, InvoiceLine, InvoiceStatus, InvoiceType, LineKind, NewCreditNote,
    Seller, release_problems, totals_of,
};
use crate::domain::money::cents;
use crate::error::Error;
use crate::events::INVOICE_GENERATED;
use crate::repo::invoices::{NewDraft, NewLine, Release};
use crate::state::BillingState;
use crate::{INVOICES_RELEASE, INVOICES_WRITE, repo, workers};

/// A credit note's lines must credit the invoice's lines as they were
/// (category, rate, price) and stay within what remains of each, and the
/// note within what remains of the invoice's gross (VAT rounded per note
/// could otherwise credit a cent more): 422 `credit_exceeds_remaining`
/// naming what does not fit.
async fn check_remaining(
    tx: &mut Tx,
    note: &Invoice,
    lines: &[InvoiceLine],
    gross: rust_decimal::Decimal,
) -> Result<(), Error> {
    let original =
        repo::invoices::fetch(tx, note.preceding_invoice_id.expect("a credit note"), true)
            .await?
            .ok_or_else(Problem::not_found)?;
    let original_lines = repo::invoices::lines(tx, original.id).await?;
    let ids: Vec<Uuid> = original_lines.iter().map(|l| l.id).collect();
    let credited = repo::invoices::credited(tx, &ids, Some(note.id)).await?;
    let mut e = FieldErrors::default();
    for (i, l) in lines.iter().enumerate() {
        let Some(orig) = original_lines
            .iter()
            .find(|o| Some(o.id) == l.credited_line_id)
        else {
            e.add_code(
                &format!("lines[{i}]"),
                "unknown_line",
                "credits no line of the invoice",
            );
            continue;
        };
        if (l.vat_category, l.vat_rate, l.unit_price)
            != (orig.vat_category, orig.vat_rate, orig.unit_price)
        {
            e.add_code(
                &format!("lines[{i}]"),
                "inconsistent",
                format!("credits line {} at another price or VAT", orig.position),
            );
        }
        let (qty, net) = credited.get(&orig.id).copied().unwrap_or_default();
        if qty > orig.quantity || net > orig.net_amount {
            e.add_code(
                &format!("lines[{i}]"),
                "exceeds_remaining",
                format!("credits more of line {} than remains", orig.position),
            );
        }
    }
    let open = repo::invoices::open_amount(tx, &original)
        .await?
        .unwrap_or_default();
    if gross > open {
        e.add_code(
            "lines",
            "exceeds_remaining",
            format!("credits {gross}, more than the {open} the invoice still asks for"),
        );
    }
    e.finish().map_err(Error::CreditExceeds)
}

/// Releases a draft: numbered, dated, final.
#[utoipa::path(post, path = "/v1/invoices/{id}/release", tag = "invoices",
    params(("id" = Uuid, Path), docs::IdempotencyKey),
    responses((status = 200, body = InvoiceDocument, headers(("ETag" = String))),
        BadRequest, Denied, NotFound, Conflict, Invalid),
    security(("bearer" = ["invoices:release"])))]
pub async fn release_invoice(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
) -> Result<Response, Error> {
    let mut tx = Tx::begin(&state.store, &caller, INVOICES_RELEASE.name).await?;
    let guard = match idem
        .guard(&mut tx, &serde_json::json!({"release": id}))
        .await?
    {
        // Released by the first request: the document as it is now, with
        // the files its aftermath kept since.
        Guarded::Replay(_) => {
            let inv = repo::invoices::fetch(&mut tx, id, false)
                .await?
                .ok_or_else(Problem::not_found)?;
            let doc = repo::invoices::document(&mut tx, inv).await?;
            tx.commit().await?;
            let mut res = with_etag(StatusCode::OK, &doc, doc.invoice.version);
            psa_http::idempotency::mark_replayed(&mut res);
            return Ok(res);
        }
        Guarded::New(guard) => guard,
    };
    let inv = repo::invoices::fetch(&mut tx, id, true)
        .await?
        .ok_or_else(Problem::not_found)?;
    if inv.status == InvoiceStatus::Released {
        return Err(Error::InvoiceReleased);
    }
    let lines = repo::invoices::lines(&mut tx, id).await?;
    let totals = totals_of(&lines);
    if inv.invoice_type == InvoiceType::CreditNote {
        check_remaining(&mut tx, &inv, &lines, totals.gross).await?;
    }
    let settings = repo::settings::fetch(&mut tx, false).await?;
    let buyer = match inv.invoice_type {
        // A credit note names the buyer as its invoice did.
        InvoiceType::CreditNote => inv.buyer.0.clone(),
        InvoiceType::Invoice => repo::projection::buyer(&mut tx, inv.customer_id)
            .await?
            .unwrap_or_else(|| inv.buyer.0.clone()),
    };
    let mut checked = inv.clone();
    checked.gross_total = totals.gross;
    let mut problems = release_problems(&checked, &lines, &settings, &buyer);
    let changed = repo::items::changed_since_billed(&mut tx, id).await?;
    if changed > 0 {
        problems.push(FieldError::with_code(
            "lines",
            "time_changed",
            format!(
                "{changed} time entries on this draft changed or were deleted since they were billed: \
                 remove their lines (their time goes back for approval) or delete the draft"
            ),
        ));
    }
    let seller = match Seller::from_settings(&settings) {
        Some(seller) if problems.is_empty() => seller,
        _ => return Err(Error::ReleaseInvalid(problems)),
    };
    let issue_date = Utc::now().date_naive();
    let terms = buyer
        .payment_terms_days
        .unwrap_or(settings.default_payment_terms_days);
    let due_date = issue_date + Days::new(u64::try_from(terms).unwrap_or(0));
    // The number comes last: everything that can refuse the release has.
    let (series, format) = match inv.invoice_type {
        InvoiceType::Invoice => ("invoice", settings.invoice_format()),
        InvoiceType::CreditNote => ("credit_note", settings.credit_note_format()),
    };
    let seq = repo::invoices::next_number(&mut tx, series, &format.period(issue_date)).await?;
    let number = format.render(issue_date, seq);
    if repo::invoices::number_exists(&mut tx, &number).await? {
        return Err(Error::NumberTaken(number));
    }
    let released = repo::invoices::release(
        &mut tx,
        id,
        &Release {
            number: &number,
            issue_date,
            due_date,
            buyer: &buyer,
            seller: &seller,
            totals: &totals,
            // The service period (§14 UStG, BG-14): the draft's, else the
            // issue date as the date of the service.
            period: match (inv.period_from, inv.period_to) {
                (Some(from), Some(to)) => (from, to),
                _ => (issue_date, issue_date),
            },
        },
    )
    .await?;
    repo::documents::pending(&mut tx, id).await?;
    let doc = repo::invoices::document(&mut tx, released).await?;
    let stored =
        Stored::new(StatusCode::OK, &doc)?.header("etag", &format!("\"{}\"", doc.invoice.version));
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    // The aftermath: the files, kept with their hashes, and the event that
    // names them. Should it fail, the release stands and the render worker
    // tries again; the answer is then the document without files.
    match workers::finish_release(&state.store, caller.tenant()?, id).await {
        Ok(Some(doc)) => Ok(with_etag(StatusCode::OK, &doc, doc.invoice.version)),
        Ok(None) => Ok(res),
        Err(e) => {
            tracing::error!(invoice = %id, error = %e, "rendering a released document failed");
            Ok(res)
        }
    }
}

/// A credit note (draft) for a released invoice, in full or for some of
/// its lines; release it like an invoice. It never credits more than
/// remains of a line (422 `credit_exceeds_remaining`).
#[utoipa::path(post, path = "/v1/invoices/{id}/credit-notes", tag = "invoices", request_body = NewCreditNote,
    params(("id" = Uuid, Path), docs::IdempotencyKey),
    responses((status = 201, body = InvoiceDocument, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Invalid),
    security(("bearer" = ["invoices:write"])))]
pub async fn create_credit_note(
    State(state): State<BillingState>,
    caller: Caller,
    idem: Idempotency,
    PathId(id): PathId,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: NewCreditNote| {
        input.validate().map_err(Error::Validation)?;
        let original = repo::invoices::fetch(tx, id, true)
            .await?
            .ok_or_else(Problem::not_found)?;
        match (original.invoice_type, original.status) {
            (InvoiceType::CreditNote, _) => return Err(Error::NotAnInvoice),
            (_, InvoiceStatus::Draft) => return Err(Error::NotReleased),
            _ => {}
        }
        let lines = repo::invoices::lines(tx, id).await?;
        let ids: Vec<Uuid> = lines.iter().map(|l| l.id).collect();
        let credited = repo::invoices::credited(tx, &ids, None).await?;
        // (line, quantity asked for, field name for errors)
        let asked: Vec<(&InvoiceLine, Option<rust_decimal::Decimal>, String)> = match &input.lines {
            None => lines
                .iter()
                .map(|l| (l, None, "lines".to_owned()))
                .collect(),
            Some(asked) => {
                let mut out = vec![];
                let mut unknown = vec![];
                let mut seen = std::collections::HashSet::new();
                for (i, a) in asked.iter().enumerate() {
                    if !seen.insert(a.line_id) {
                        unknown.push(FieldError::with_code(
                            format!("lines[{i}].line_id"),
                            "inconsistent",
                            "names a line named before",
                        ));
                        continue;
                    }
                    match lines.iter().find(|l| l.id == a.line_id) {
                        Some(l) => out.push((l, a.quantity, format!("lines[{i}].quantity"))),
                        None => unknown.push(FieldError::with_code(
                            format!("lines[{i}].line_id"),
                            "unknown_line",
                            "the invoice has no such line",
                        )),
                    }
                }
                if !unknown.is_empty() {
                    return Err(Error::Validation(unknown));
                }
                out
            }
        };
        let mut credits = vec![];
        let mut e = FieldErrors::default();
        for (line, quantity, field) in asked {
            let (done_qty, done_net) = credited.get(&line.id).copied().unwrap_or_default();
            let left_qty = line.quantity - done_qty;
            let left_net = line.net_amount - done_net;
            let qty = quantity.unwrap_or(left_qty);
            if input.lines.is_none() && left_net <= rust_decimal::Decimal::ZERO {
                continue;
            }
            if qty > left_qty || left_net <= rust_decimal::Decimal::ZERO {
                e.add_code(
                    &field,
                    "exceeds_remaining",
                    format!("{left_qty} of line {} remain to be credited", line.position),
                );
                continue;
            }
            let net = if qty == left_qty {
                left_net
            } else {
                cents(qty * line.unit_price).min(left_net)
            };
            credits.push((line, qty, net));
        }
        e.finish().map_err(Error::CreditExceeds)?;
        if credits.is_empty() {
            return Err(Error::CreditExceeds(vec![FieldError::with_code(
                "lines",
                "exceeds_remaining",
                "nothing of the invoice remains to be credited",
            )]));
        }
        let note = repo::invoices::insert_draft(
            tx,
            &NewDraft {
                invoice_type: InvoiceType::CreditNote,
                customer_id: original.customer_id,
                currency: &original.currency,
                period: (original.period_from, original.period_to),
                notes: input.reason.as_deref(),
                buyer: &original.buyer.0,
                preceding: Some(&original),
                run_id: None,
            },
        )
        .await?;
        for (line, quantity, net) in credits {
            let description = format!("Credit for line {}: {}", line.position, line.description);
            repo::invoices::insert_line(
                tx,
                note.id,
                &NewLine {
                    kind: LineKind::Credit,
                    description: &description,
                    quantity,
                    unit_code: line.unit_code,
                    unit_price: line.unit_price,
                    net,
                    vat_category: line.vat_category,
                    vat_rate: line.vat_rate,
                    exemption_reason: line.exemption_reason.as_deref(),
                    contract_id: line.contract_id,
                    period: (line.period_from, line.period_to),
                    credited_line_id: Some(line.id),
                },
            )
            .await?;
        }
        let note = repo::invoices::retotal(tx, note.id).await?;
        let doc = repo::invoices::document(tx, note).await?;
        tx.emit(&INVOICE_GENERATED, doc.invoice.id, &doc).await?;
        let location = format!("/v1/invoices/{}", doc.invoice.id);
        Ok(Stored::created(&location, &doc, doc.invoice.version)?)
    })
    .await
}
