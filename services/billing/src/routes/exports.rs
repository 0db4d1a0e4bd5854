//! The DATEV export (`GET /v1/exports/datev?from=…&to=…`): the released
//! invoices and credit notes issued in a period as a DATEV-Format EXTF
//! Buchungsstapel, for the tax advisor's import. Drafts are never exported.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use psa_authn::Caller;
use psa_http::extract::Query;
use psa_http::{FieldError, Problem, negotiate};
use psa_kernel::Tx;
use psa_kernel::docs::{BadRequest, Denied, Invalid};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::documents::datev::{self, Booked, Consultant, Export};
use crate::error::Error;
use crate::state::BillingState;
use crate::{INVOICES_READ, repo};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatevQuery {
    /// First issue date of the period (inclusive), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last issue date of the period (inclusive), in the same fiscal year.
    pub to: NaiveDate,
}

/// More documents than this in one export is refused (DATEV takes 99,999
/// rows; a document has a row per VAT rate).
const DOCUMENTS_MAX: i64 = 50_000;

/// The period's released invoices and credit notes as a DATEV EXTF
/// Buchungsstapel (format 700, category 21, version 13): Windows-1252,
/// CRLF, `;`; one booking per document and VAT rate, gross, debtor
/// against the revenue account of the tenant's chart (SKR03 / SKR04, or
/// its `accounts`), credit notes on the credit side. 422 `export_invalid`
/// when the DATEV numbers are not set, the period spans two fiscal years
/// or an account is not mapped.
#[utoipa::path(get, path = "/v1/exports/datev", tag = "billing", params(DatevQuery),
    responses((status = 200, content_type = "text/csv; charset=windows-1252", body = Vec<u8>,
            headers(("Content-Disposition" = String))),
        BadRequest, Denied, Invalid),
    security(("bearer" = ["invoices:read"])))]
pub async fn datev_export(
    State(state): State<BillingState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<DatevQuery>, Problem>,
) -> Result<Response, Error> {
    // The permission first: a caller without it learns nothing of the query.
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let Query(q) = query?;
    let (settings, docs) = psa_kernel::read(tx, async |tx| {
        let settings = repo::settings::fetch(tx, false).await?;
        let docs = repo::exports::released_between(tx, q.from, q.to, DOCUMENTS_MAX + 1).await?;
        Ok::<_, Error>((settings, docs))
    })
    .await?;
    let invalid = |field: &str, code: &'static str, why: String| {
        Error::Export(vec![FieldError::with_code(field, code, why)])
    };
    if q.from > q.to {
        return Err(invalid(
            "to",
            "inconsistent",
            "must not lie before from".into(),
        ));
    }
    if docs.len() as i64 > DOCUMENTS_MAX {
        return Err(invalid(
            "to",
            "too_many",
            format!("more than {DOCUMENTS_MAX} documents: export a shorter period"),
        ));
    }
    let (Some(consultant_number), Some(client_number)) = (
        settings.datev_consultant_number,
        settings.datev_client_number,
    ) else {
        return Err(Error::Export(
            [
                ("datev_consultant_number", settings.datev_consultant_number),
                ("datev_client_number", settings.datev_client_number),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(f, _)| {
                FieldError::with_code(
                    format!("settings.{f}"),
                    "missing",
                    "the DATEV export needs it (PATCH /v1/billing/settings)",
                )
            })
            .collect(),
        ));
    };
    let seller_country = settings
        .address
        .as_ref()
        .map_or("DE".to_owned(), |a| a.0.country.clone());
    // The customer's debtor account as the document was released with it,
    // else the tenant's collective debtor (`accounts.debtors`, `10000`).
    let account_length = settings.account_length.clamp(4, 8) as u32;
    let default_debtor = format!("1{}", "0".repeat(account_length as usize));
    let debtor = settings
        .accounts
        .0
        .get("debtors")
        .cloned()
        .unwrap_or(default_debtor);
    let booked: Vec<Booked> = docs
        .iter()
        .map(|doc| Booked {
            doc,
            debtor_account: doc
                .invoice
                .buyer
                .0
                .debtor_account
                .as_deref()
                .unwrap_or(&debtor),
        })
        .collect();
    let export = Export {
        consultant: Consultant {
            consultant_number: consultant_number as u32,
            client_number: client_number as u32,
            fiscal_year_start_month: settings.fiscal_year_start_month.clamp(1, 12) as u32,
            account_length,
            chart: settings.chart_of_accounts,
        },
        accounts: &settings.accounts.0,
        seller_country: &seller_country,
        from: q.from,
        to: q.to,
        created: Utc::now(),
        exported_by: &caller.subject,
        documents: &booked,
    };
    let bytes = datev::write(&export).map_err(|e| invalid("period", e.code(), e.to_string()))?;
    let sha = data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes));
    let mut res = negotiate::file(
        &headers,
        "text/csv; charset=windows-1252",
        &datev::file_name(&export),
        &sha,
        bytes,
    );
    // An export is made now, from what is released now: not cached.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
