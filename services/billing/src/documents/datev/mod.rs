//! The DATEV export of a period's released invoices and credit notes: a
//! "Buchungsstapel" in DATEV-Format (EXTF, header version 700, category 21,
//! format version 13), the file a tax advisor imports into DATEV
//! Rechnungswesen. Pure: documents and settings in, the file's bytes out.
//!
//! The file is Windows-1252 with CRLF line ends, `;` between fields and
//! text fields in double quotes (a quote inside doubled). Line 1 is the
//! 31-field header (consultant, client, fiscal year, period), line 2 the
//! 125 column headings, then one booking per document and VAT group
//! (Soll-Versteuerung): the gross amount, "debtor S to revenue account"
//! for an invoice and H for a credit note. The revenue accounts are
//! automatic accounts, so no BU-Schlüssel: DATEV splits off the tax itself.
//!
//! Sources: DATEV's Formatbeschreibung on developer.datev.de (field
//! expressions), `seamless-engineering/datev-extf` (header layout,
//! headings, the rules DATEV's import enforces), see
//! `/work/shared/design/EINVOICE.md`.

mod accounts;
mod columns;
mod cp1252;
mod rows;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

pub use accounts::{default_account, revenue_key};
pub use columns::HEADINGS;

use crate::domain::invoice::InvoiceDocument;
use crate::domain::money::{VatGroup, cents};
use crate::domain::settings::ChartOfAccounts;

/// DATEV takes at most this many bookings in one file.
pub const ROWS_MAX: usize = 99_999;

/// Who the file is for: the tax advisor's and the client's numbers at
/// DATEV and the client's ledger settings there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consultant {
    /// Beraternummer, 1001 to 9999999.
    pub consultant_number: u32,
    /// Mandantennummer, 1 to 99999.
    pub client_number: u32,
    /// The month the fiscal year starts in, 1 to 12.
    pub fiscal_year_start_month: u32,
    /// Sachkontenlänge: digits of a general ledger account, 4 to 8; debtor
    /// accounts have one more.
    pub account_length: u32,
    pub chart: ChartOfAccounts,
}

/// One export: a period's documents and what the header says.
#[derive(Debug, Clone, Copy)]
pub struct Export<'a> {
    pub consultant: Consultant,
    /// The tenant's accounts by purpose (`revenue_19`: `8400`, …); they
    /// win over the standard chart's.
    pub accounts: &'a BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2: tells domestic from EU reverse charge.
    pub seller_country: &'a str,
    /// The period (Datum vom / bis), inside one fiscal and calendar year.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub created: DateTime<Utc>,
    /// The user, as the header's "exportiert von" (at most 25 characters).
    pub exported_by: &'a str,
    /// Released documents issued in the period, in the order to book.
    pub documents: &'a [Booked<'a>],
}

/// A released document and its customer's debtor account.
#[derive(Debug, Clone, Copy)]
pub struct Booked<'a> {
    /// A released invoice or credit note.
    pub doc: &'a InvoiceDocument,
    /// The customer's debtor (Personenkonto), digits.
    pub debtor_account: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum DatevError {
    #[error("DATEV {field} {value} is out of range ({range})")]
    BadConsultant {
        field: &'static str,
        value: u32,
        range: &'static str,
    },
    #[error("the period ends ({to}) before it starts ({from})")]
    PeriodReversed { from: NaiveDate, to: NaiveDate },
    #[error("{from} to {to} spans two fiscal years; DATEV takes one batch per fiscal year")]
    PeriodSpansFiscalYears { from: NaiveDate, to: NaiveDate },
    #[error("{from} to {to} spans two calendar years; DATEV takes one batch per calendar year")]
    PeriodSpansCalendarYears { from: NaiveDate, to: NaiveDate },
    #[error("document {document} is not a released document")]
    NotReleased { document: Uuid },
    #[error("{number} was issued on {issue_date}, outside the exported period")]
    OutsidePeriod {
        number: String,
        issue_date: NaiveDate,
    },
    #[error("{number} is in {currency}; the DATEV export takes EUR documents only")]
    NotEur { number: String, currency: String },
    #[error(
        "document number {number} cannot be Belegfeld 1 (at most 36 of A-Z, a-z, 0-9, $ & % * + - /)"
    )]
    BadDocumentNumber { number: String },
    #[error("no account is set for {key}")]
    NoAccount { key: String },
    #[error("account {value:?} for {key} is not a number of {length} digits")]
    BadAccount {
        key: String,
        value: String,
        length: usize,
    },
    #[error(
        "debtor account {account:?} of customer {customer} is not a number of {length} digits from 1… to 6…"
    )]
    BadDebtorAccount {
        customer: String,
        account: String,
        length: usize,
    },
    #[error("{number}: the buyer's country is unknown (no address, no VAT id)")]
    BuyerCountryUnknown { number: String },
    #[error("{number}: an intra-EU booking needs the buyer's VAT id")]
    MissingVatId { number: String },
    #[error("{number}: the buyer's VAT id {vat_id:?} is not a VAT id DATEV takes")]
    BadVatId { number: String, vat_id: String },
    #[error("{number}: an amount beyond DATEV's ten digits")]
    AmountTooLarge { number: String },
    #[error("{rows} bookings; DATEV takes at most 99999 in one file")]
    TooManyRows { rows: usize },
}

impl DatevError {
    /// A stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadConsultant { .. } => "datev_number_invalid",
            Self::PeriodReversed { .. } => "period_reversed",
            Self::PeriodSpansFiscalYears { .. } => "spans_fiscal_years",
            Self::PeriodSpansCalendarYears { .. } => "spans_calendar_years",
            Self::NotReleased { .. } => "not_released",
            Self::OutsidePeriod { .. } => "outside_period",
            Self::NotEur { .. } => "not_eur",
            Self::BadDocumentNumber { .. } => "document_number_invalid",
            Self::NoAccount { .. } => "account_missing",
            Self::BadAccount { .. } => "account_invalid",
            Self::BadDebtorAccount { .. } => "debtor_account_invalid",
            Self::BuyerCountryUnknown { .. } => "buyer_country_unknown",
            Self::MissingVatId { .. } => "vat_id_missing",
            Self::BadVatId { .. } => "vat_id_invalid",
            Self::AmountTooLarge { .. } => "amount_too_large",
            Self::TooManyRows { .. } => "too_many_rows",
        }
    }
}

/// The first day of the fiscal year that contains `from` (WJ-Beginn).
/// A start month outside 1..=12 is taken as the nearest month.
pub fn fiscal_year_start(from: NaiveDate, start_month: u32) -> NaiveDate {
    let month = start_month.clamp(1, 12);
    let year = if from.month() >= month {
        from.year()
    } else {
        from.year() - 1
    };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(from)
}

/// `EXTF_Buchungsstapel_20261101_20261130.csv`.
pub fn file_name(e: &Export) -> String {
    format!(
        "EXTF_Buchungsstapel_{}_{}.csv",
        e.from.format("%Y%m%d"),
        e.to.format("%Y%m%d")
    )
}

/// The file: header, headings and one booking per document and VAT group.
pub fn write(e: &Export) -> Result<Vec<u8>, DatevError> {
    check_consultant(&e.consultant)?;
    let fiscal_year = check_period(e)?;
    let rows: usize = e
        .documents
        .iter()
        .map(|b| {
            b.doc
                .vat_breakdown
                .iter()
                .filter(|g| !gross(g).is_zero())
                .count()
        })
        .sum();
    if rows > ROWS_MAX {
        return Err(DatevError::TooManyRows { rows });
    }

    let mut out = Vec::with_capacity(2048 + rows * 256);
    push_line(&mut out, &header(e, fiscal_year));
    out.extend(cp1252::encode(&HEADINGS.join(";")));
    out.extend_from_slice(b"\r\n");
    for booked in e.documents {
        for row in rows::bookings(e, fiscal_year, booked)? {
            push_line(&mut out, &row);
        }
    }
    Ok(out)
}

/// One field of a line: a number or code as is, or quoted text.
#[derive(Debug, Clone)]
enum Cell {
    Bare(String),
    Text(Vec<u8>),
}

fn text(s: &str, max: usize) -> Option<Cell> {
    Some(Cell::Text(cp1252::field(s, max)))
}

fn bare(s: impl ToString) -> Option<Cell> {
    Some(Cell::Bare(s.to_string()))
}

fn push_line(out: &mut Vec<u8>, cells: &[Option<Cell>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        match cell {
            None => {}
            Some(Cell::Bare(s)) => out.extend(cp1252::encode(s)),
            Some(Cell::Text(bytes)) => {
                out.push(b'"');
                for &b in bytes {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn check_consultant(c: &Consultant) -> Result<(), DatevError> {
    let checks: [(
        &'static str,
        u32,
        std::ops::RangeInclusive<u32>,
        &'static str,
    ); 4] = [
        (
            "Beraternummer",
            c.consultant_number,
            1001..=9_999_999,
            "1001 to 9999999",
        ),
        ("Mandantennummer", c.client_number, 1..=99_999, "1 to 99999"),
        (
            "fiscal year start month",
            c.fiscal_year_start_month,
            1..=12,
            "1 to 12",
        ),
        ("Sachkontenlänge", c.account_length, 4..=8, "4 to 8"),
    ];
    for (field, value, allowed, range) in checks {
        if !allowed.contains(&value) {
            return Err(DatevError::BadConsultant {
                field,
                value,
                range,
            });
        }
    }
    Ok(())
}

/// The period's fiscal year start, if the period is one DATEV takes.
fn check_period(e: &Export) -> Result<NaiveDate, DatevError> {
    let (from, to) = (e.from, e.to);
    if to < from {
        return Err(DatevError::PeriodReversed { from, to });
    }
    let month = e.consultant.fiscal_year_start_month;
    let fiscal_year = fiscal_year_start(from, month);
    if fiscal_year_start(to, month) != fiscal_year {
        return Err(DatevError::PeriodSpansFiscalYears { from, to });
    }
    // The Belegdatum is day and month only; the year comes from the header.
    if from.year() != to.year() {
        return Err(DatevError::PeriodSpansCalendarYears { from, to });
    }
    Ok(fiscal_year)
}

fn header(e: &Export, fiscal_year: NaiveDate) -> Vec<Option<Cell>> {
    let c = &e.consultant;
    let chart = match c.chart {
        ChartOfAccounts::Skr03 => "03",
        ChartOfAccounts::Skr04 => "04",
    };
    let mut h: Vec<Option<Cell>> = vec![None; 31];
    h[0] = text("EXTF", 4);
    h[1] = bare(700);
    h[2] = bare(21);
    h[3] = text("Buchungsstapel", 14);
    h[4] = bare(13);
    h[5] = bare(e.created.format("%Y%m%d%H%M%S%3f"));
    h[7] = text("RE", 2);
    h[8] = text(e.exported_by, 25);
    h[10] = bare(c.consultant_number);
    h[11] = bare(c.client_number);
    h[12] = bare(fiscal_year.format("%Y%m%d"));
    h[13] = bare(c.account_length);
    h[14] = bare(e.from.format("%Y%m%d"));
    h[15] = bare(e.to.format("%Y%m%d"));
    h[16] = text(&label(e.from, e.to), 30);
    h[18] = bare(1); // Buchungstyp: Finanzbuchführung
    h[19] = bare(0); // Rechnungslegungszweck: independent of it
    h[20] = bare(0); // Festschreibung: the advisor locks after review
    h[21] = text("EUR", 3);
    h[26] = text(chart, 2);
    h
}

/// "Rechnungen 2026-11" for a calendar month, else the dates.
fn label(from: NaiveDate, to: NaiveDate) -> String {
    let month_end = from
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt());
    if from.day() == 1 && Some(to) == month_end {
        format!("Rechnungen {}", from.format("%Y-%m"))
    } else {
        format!(
            "Rechnungen {}-{}",
            from.format("%d.%m."),
            to.format("%d.%m.%Y")
        )
    }
}

fn gross(g: &VatGroup) -> Decimal {
    cents(g.base + g.tax)
}
