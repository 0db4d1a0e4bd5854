//! A document's bookings: one row of the 125 columns per VAT group, and
//! the checks on what goes into them.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Booked, Cell, DatevError, Export, accounts, bare, columns, gross, text};
use crate::domain::invoice::{InvoiceDocument, InvoiceStatus, InvoiceType};
use crate::domain::money::{VatCategory, cents};

/// The document's bookings, one per VAT group with an amount.
pub(super) fn bookings(
    e: &Export,
    fiscal_year: NaiveDate,
    booked: &Booked,
) -> Result<Vec<Vec<Option<Cell>>>, DatevError> {
    let doc = booked.doc;
    let inv = &doc.invoice;
    let (Some(number), Some(issue_date), InvoiceStatus::Released) =
        (inv.number.as_deref(), inv.issue_date, inv.status)
    else {
        return Err(DatevError::NotReleased { document: inv.id });
    };
    if issue_date < e.from || issue_date > e.to {
        return Err(DatevError::OutsidePeriod {
            number: number.to_owned(),
            issue_date,
        });
    }
    if inv.currency != "EUR" {
        return Err(DatevError::NotEur {
            number: number.to_owned(),
            currency: inv.currency.clone(),
        });
    }
    check_document_number(number)?;
    if let Some(preceding) = inv.preceding_number.as_deref() {
        check_document_number(preceding)?;
    }
    let buyer = &inv.buyer.0;
    accounts::check_debtor(
        booked.debtor_account,
        e.consultant.account_length,
        &buyer.customer_number,
    )?;

    let mut rows = Vec::with_capacity(doc.vat_breakdown.len());
    for group in &doc.vat_breakdown {
        let amount = gross(group);
        if amount.is_zero() {
            continue;
        }
        let domestic = || -> Result<bool, DatevError> {
            let country = buyer_country(doc).ok_or_else(|| DatevError::BuyerCountryUnknown {
                number: number.to_owned(),
            })?;
            Ok(country.eq_ignore_ascii_case(e.seller_country))
        };
        let key = accounts::revenue_key(group.category, group.rate, domestic)?;
        let revenue = accounts::resolve(
            &key,
            e.accounts,
            e.consultant.chart,
            e.consultant.account_length,
        )?;
        // An invoice debits the debtor, a credit note credits it; a
        // negative group (a discount on its own rate) the other way round.
        let debit = (inv.invoice_type == InvoiceType::Invoice) == amount.is_sign_positive();

        let mut row: Vec<Option<Cell>> = vec![None; columns::COUNT];
        let mut set = |column: usize, cell: Option<Cell>| row[column - 1] = cell;
        set(columns::UMSATZ, bare(format_amount(amount, number)?));
        set(columns::SOLL_HABEN, text(if debit { "S" } else { "H" }, 1));
        set(columns::WKZ_UMSATZ, text(&inv.currency, 3));
        set(columns::KONTO, bare(booked.debtor_account));
        set(columns::GEGENKONTO, bare(revenue));
        set(columns::BELEGDATUM, bare(issue_date.format("%d%m")));
        set(columns::BELEGFELD_1, text(number, 36));
        if inv.invoice_type == InvoiceType::CreditNote
            && let Some(preceding) = inv.preceding_number.as_deref()
        {
            set(columns::BELEGFELD_2, text(preceding, 36));
        }
        set(
            columns::BUCHUNGSTEXT,
            text(&format!("{number} {}", buyer.name), 60),
        );
        let intra_eu = match group.category {
            VatCategory::K => true,
            VatCategory::AE => key == "revenue_eu_reverse_charge",
            _ => false,
        };
        if intra_eu {
            set(columns::EU_LAND_USTID, text(&vat_id(doc, number)?, 15));
        }
        // The service date steers the VAT period in DATEV. It may not lie
        // after the Belegdatum, nor before the fiscal year of the batch, so
        // a period billed in advance or one from the last fiscal year keeps
        // the Belegdatum's period.
        if let Some(service) = inv.period_to
            && service <= issue_date
            && service >= fiscal_year
        {
            let date = service.format("%d%m%Y").to_string();
            set(columns::LEISTUNGSDATUM, bare(&date));
            set(columns::ZUORD_STEUERPERIODE, bare(&date));
        }
        if let Some(due) = inv.due_date {
            set(columns::FAELLIGKEIT, bare(due.format("%d%m%Y")));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Belegfeld 1: at most 36 of the characters DATEV allows there.
fn check_document_number(number: &str) -> Result<(), DatevError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"$&%*+-/".contains(&b);
    if number.is_empty() || number.len() > 36 || !number.bytes().all(allowed) {
        return Err(DatevError::BadDocumentNumber {
            number: number.to_owned(),
        });
    }
    Ok(())
}

/// `1234,56`: unsigned, decimal comma, two places, no thousands separator.
fn format_amount(amount: Decimal, number: &str) -> Result<String, DatevError> {
    let mut v = cents(amount.abs());
    v.rescale(2);
    let s = v.to_string();
    if s.len() > 13 {
        return Err(DatevError::AmountTooLarge {
            number: number.to_owned(),
        });
    }
    Ok(s.replace('.', ","))
}

/// The buyer's country: the address's, else the VAT id's prefix (Greece
/// writes EL there).
fn buyer_country(doc: &InvoiceDocument) -> Option<String> {
    let buyer = &doc.invoice.buyer.0;
    if let Some(address) = &buyer.address {
        return Some(address.country.clone());
    }
    let prefix = buyer
        .vat_id
        .as_deref()?
        .trim()
        .get(..2)?
        .to_ascii_uppercase();
    if !prefix.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(if prefix == "EL" { "GR".into() } else { prefix })
}

/// The buyer's VAT id as DATEV takes it: no spaces, dots or dashes, the
/// country prefix and 2 to 13 letters, digits, `+` or `*`.
fn vat_id(doc: &InvoiceDocument, number: &str) -> Result<String, DatevError> {
    let raw = doc
        .invoice
        .buyer
        .0
        .vat_id
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| DatevError::MissingVatId {
            number: number.to_owned(),
        })?;
    let id: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    let b = id.as_bytes();
    let ok = (4..=15).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(*c, b'+' | b'*'));
    if !ok {
        return Err(DatevError::BadVatId {
            number: number.to_owned(),
            vat_id: raw.to_owned(),
        });
    }
    Ok(id)
}
