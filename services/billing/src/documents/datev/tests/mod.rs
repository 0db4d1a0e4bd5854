//! The writer's tests: a small builder for released documents, a reader
//! for the file it writes, and the format (here), the checks
//! (`checks.rs`) and the character set (`encoding.rs`).

mod checks;
mod encoding;
mod read;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use psa_crm::domain::validate::Address;
use rust_decimal::Decimal;
use sqlx::types::Json;
use uuid::Uuid;

pub use self::read::{Field, col, read};
use super::*;
use crate::domain::invoice::{Buyer, Invoice, InvoiceStatus, InvoiceType};
use crate::domain::money::{VatCategory, VatGroup};

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn stamp() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 5).unwrap() + chrono::Duration::milliseconds(123)
}

pub fn group(category: VatCategory, rate: &str, base: &str, tax: &str) -> VatGroup {
    VatGroup {
        category,
        rate: d(rate),
        base: d(base),
        tax: d(tax),
        exemption_reason: None,
    }
}

pub fn address(country: &str) -> Address {
    Address {
        line1: "Hauptstraße 1".into(),
        line2: None,
        postal_code: Some("10115".into()),
        city: "Berlin".into(),
        region: None,
        country: country.into(),
    }
}

/// A released invoice of `Kunde GmbH` (DE), 100.00 + 19 % VAT.
pub fn invoice(number: &str, issue: &str) -> InvoiceDocument {
    let groups = vec![group(VatCategory::S, "19.00", "100.00", "19.00")];
    let t = stamp();
    InvoiceDocument {
        invoice: Invoice {
            id: Uuid::from_u128(number.len() as u128),
            invoice_type: InvoiceType::Invoice,
            status: InvoiceStatus::Released,
            number: Some(number.into()),
            customer_id: Uuid::from_u128(7),
            currency: "EUR".into(),
            issue_date: Some(day(issue)),
            due_date: None,
            period_from: None,
            period_to: None,
            notes: None,
            buyer: Json(Buyer {
                customer_number: "K-1001".into(),
                name: "Kunde GmbH".into(),
                address: Some(address("DE")),
                vat_id: None,
                tax_number: None,
                leitweg_id: None,
                email: None,
                payment_terms_days: None,
                debtor_account: None,
                einvoice_format: Default::default(),
                vat_treatment: Default::default(),
            }),
            seller: None,
            preceding_invoice_id: None,
            preceding_number: None,
            preceding_issue_date: None,
            run_id: None,
            net_total: d("100.00"),
            tax_total: d("19.00"),
            gross_total: d("119.00"),
            released_at: Some(t),
            version: 1,
            created_at: t,
            updated_at: t,
        },
        lines: vec![],
        vat_breakdown: groups,
        open_amount: None,
        files: Vec::new(),
    }
}

/// A released credit note for `preceding`.
pub fn credit_note(number: &str, issue: &str, preceding: &str) -> InvoiceDocument {
    let mut doc = invoice(number, issue);
    doc.invoice.invoice_type = InvoiceType::CreditNote;
    doc.invoice.preceding_number = Some(preceding.into());
    doc
}

/// An export's inputs, owned, so a test can change any of them.
pub struct Setup {
    pub consultant: Consultant,
    pub accounts: BTreeMap<String, String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub exported_by: String,
    pub docs: Vec<(InvoiceDocument, String)>,
}

impl Setup {
    /// November 2026, SKR03, fiscal year = calendar year, no documents.
    pub fn november() -> Self {
        Self {
            consultant: Consultant {
                consultant_number: 29098,
                client_number: 55003,
                fiscal_year_start_month: 1,
                account_length: 4,
                chart: ChartOfAccounts::Skr03,
            },
            accounts: BTreeMap::new(),
            from: day("2026-11-01"),
            to: day("2026-11-30"),
            exported_by: "Buchhaltung".into(),
            docs: vec![],
        }
    }

    pub fn with(mut self, doc: InvoiceDocument) -> Self {
        self.docs.push((doc, "10001".into()));
        self
    }

    pub fn run(&self) -> Result<Vec<u8>, DatevError> {
        let booked: Vec<Booked> = self
            .docs
            .iter()
            .map(|(doc, debtor)| Booked {
                doc,
                debtor_account: debtor,
            })
            .collect();
        let e = self.export(&booked);
        write(&e)
    }

    pub fn export<'a>(&'a self, booked: &'a [Booked<'a>]) -> Export<'a> {
        Export {
            consultant: self.consultant,
            accounts: &self.accounts,
            seller_country: "DE",
            from: self.from,
            to: self.to,
            created: stamp(),
            exported_by: &self.exported_by,
            documents: booked,
        }
    }

    /// The file, read back: its lines, their fields.
    pub fn lines(&self) -> Vec<Vec<Field>> {
        read(&self.run().unwrap())
    }

    /// The bookings (lines 3+).
    pub fn rows(&self) -> Vec<Vec<Field>> {
        self.lines().split_off(2)
    }
}

#[test]
fn the_header_has_31_fields_with_the_right_values() {
    let mut s = Setup::november();
    s.consultant.fiscal_year_start_month = 7;
    s.consultant.chart = ChartOfAccounts::Skr04;
    let bytes = s.run().unwrap();
    assert!(bytes.starts_with(b"\"EXTF\";700;21;\"Buchungsstapel\";13;20261201083005123;;\"RE\";"));
    let h = &read(&bytes)[0];
    assert_eq!(h.len(), 31);
    let expect: [(usize, &str, bool); 21] = [
        (1, "EXTF", true),
        (2, "700", false),
        (3, "21", false),
        (4, "Buchungsstapel", true),
        (5, "13", false),
        (6, "20261201083005123", false),
        (7, "", false),
        (8, "RE", true),
        (9, "Buchhaltung", true),
        (11, "29098", false),
        (12, "55003", false),
        (13, "20260701", false),
        (14, "4", false),
        (15, "20261101", false),
        (16, "20261130", false),
        (17, "Rechnungen 2026-11", true),
        (19, "1", false),
        (20, "0", false),
        (21, "0", false),
        (22, "EUR", true),
        (27, "04", true),
    ];
    for (n, text, quoted) in expect {
        assert_eq!(
            h[n - 1],
            Field {
                text: text.into(),
                quoted
            },
            "header field {n}"
        );
    }
    for n in [10, 18, 23, 24, 25, 26, 28, 29, 30, 31] {
        assert_eq!(h[n - 1].text, "", "header field {n} is unused");
    }
}

#[test]
fn the_header_names_a_part_of_a_month_by_its_dates_and_shortens_the_user() {
    let mut s = Setup::november();
    s.to = day("2026-11-15");
    s.exported_by = "Maximiliane Mustermann-Schulze".into();
    let h = &s.lines()[0];
    assert_eq!(h[16].text, "Rechnungen 01.11.-15.11.2026");
    assert_eq!(h[8].text, "Maximiliane Mustermann-Sc", "25 characters");
    assert_eq!(h[12].text, "20260101");
    assert_eq!(h[26].text, "03");
}

#[test]
fn the_second_line_has_the_125_headings_in_datev_order() {
    let lines = Setup::november().lines();
    let headings: Vec<&str> = lines[1].iter().map(|f| f.text.as_str()).collect();
    assert_eq!(headings.len(), 125);
    assert_eq!(headings[0], "Umsatz (ohne Soll/Haben-Kz)");
    assert_eq!(
        headings[..4],
        [
            "Umsatz (ohne Soll/Haben-Kz)",
            "Soll/Haben-Kennzeichen",
            "WKZ Umsatz",
            "Kurs"
        ]
    );
    assert_eq!(headings[124], "Abw. Skontokonto");
    assert!(lines[1].iter().all(|f| !f.quoted));
    let named = [
        (columns::KONTO, "Konto"),
        (columns::GEGENKONTO, "Gegenkonto (ohne BU-Schlüssel)"),
        (columns::BELEGDATUM, "Belegdatum"),
        (columns::BELEGFELD_2, "Belegfeld 2"),
        (columns::BUCHUNGSTEXT, "Buchungstext"),
        (columns::EU_LAND_USTID, "EU-Land u. UStID (Bestimmung)"),
        (columns::LEISTUNGSDATUM, "Leistungsdatum"),
        (columns::ZUORD_STEUERPERIODE, "Datum Zuord. Steuerperiode"),
        (columns::FAELLIGKEIT, "Fälligkeit"),
    ];
    for (column, name) in named {
        assert_eq!(headings[column - 1], name);
    }
    let distinct: std::collections::BTreeSet<_> = headings.iter().collect();
    assert_eq!(distinct.len(), 125, "no heading twice");
}

#[test]
fn an_export_without_documents_is_the_two_header_lines() {
    let bytes = Setup::november().run().unwrap();
    assert_eq!(bytes.windows(2).filter(|w| *w == b"\r\n").count(), 2);
    assert_eq!(read(&bytes).len(), 2);
}

#[test]
fn two_vat_rates_are_two_bookings_of_their_gross_amounts() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.vat_breakdown = vec![
        group(VatCategory::S, "19.00", "1237.50", "235.13"),
        group(VatCategory::S, "7.00", "237.50", "16.63"),
    ];
    let rows = Setup::november().with(doc).rows();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.len(), 125);
        assert_eq!(col(row, 2), "S");
        assert_eq!(col(row, 3), "EUR");
        assert_eq!(col(row, 7), "10001");
        assert_eq!(col(row, 9), "", "no BU-Schlüssel on automatic accounts");
        assert_eq!(col(row, 11), "RE-2026-00001");
        assert_eq!(col(row, 12), "");
        assert_eq!(col(row, 14), "RE-2026-00001 Kunde GmbH");
        assert_eq!(col(row, 40), "");
    }
    assert_eq!((col(&rows[0], 1), col(&rows[0], 8)), ("1472,63", "8400"));
    assert_eq!((col(&rows[1], 1), col(&rows[1], 8)), ("254,13", "8300"));
    assert!(!rows[0][0].quoted && rows[0][1].quoted && !rows[0][6].quoted);
}

#[test]
fn amounts_have_two_places_and_no_thousands_separator() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.vat_breakdown = vec![group(VatCategory::S, "19", "1234567", "234567.73")];
    let rows = Setup::november().with(doc).rows();
    assert_eq!(col(&rows[0], 1), "1469134,73");
    let mut doc = invoice("RE-2026-00002", "2026-11-05");
    doc.vat_breakdown = vec![group(VatCategory::S, "19", "10", "1.9")];
    assert_eq!(col(&Setup::november().with(doc).rows()[0], 1), "11,90");
}

#[test]
fn a_credit_note_is_booked_haben_with_the_credited_invoice_in_belegfeld_2() {
    let rows = Setup::november()
        .with(credit_note("GS-2026-00001", "2026-11-20", "RE-2026-00001"))
        .rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(col(row, 1), "119,00");
    assert_eq!(col(row, 2), "H");
    assert_eq!(col(row, 7), "10001");
    assert_eq!(col(row, 8), "8400");
    assert_eq!(col(row, 11), "GS-2026-00001");
    assert_eq!(col(row, 12), "RE-2026-00001");
    assert!(row[11].quoted);
}

#[test]
fn a_negative_group_flips_the_side_and_an_empty_group_is_left_out() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.vat_breakdown = vec![
        group(VatCategory::S, "19", "200.00", "38.00"),
        group(VatCategory::S, "7", "-10.00", "-0.70"),
        group(VatCategory::E, "0", "0.00", "0.00"),
    ];
    let rows = Setup::november().with(doc).rows();
    assert_eq!(rows.len(), 2, "no 0,00 booking (DATEV refuses them)");
    assert_eq!((col(&rows[1], 1), col(&rows[1], 2)), ("10,70", "H"));
}

#[test]
fn dates_are_ddmm_and_service_and_due_dates_ddmmyyyy() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.invoice.period_from = Some(day("2026-10-01"));
    doc.invoice.period_to = Some(day("2026-10-31"));
    doc.invoice.due_date = Some(day("2026-11-19"));
    let row = &Setup::november().with(doc).rows()[0];
    assert_eq!(col(row, 10), "0511");
    assert_eq!(col(row, 115), "31102026");
    assert_eq!(col(row, 116), "31102026", "DATEV wants the pair");
    assert_eq!(col(row, 117), "19112026");
}

#[test]
fn a_service_date_after_the_invoice_or_before_the_fiscal_year_is_left_out() {
    // A monthly fee billed in advance: DATEV takes no Leistungsdatum after
    // the Belegdatum.
    let mut ahead = invoice("RE-2026-00001", "2026-11-02");
    ahead.invoice.period_to = Some(day("2026-11-30"));
    let row = &Setup::november().with(ahead).rows()[0];
    assert_eq!((col(row, 115), col(row, 116)), ("", ""));

    // December's services invoiced in January belong to the last fiscal
    // year, which a batch of this one cannot reach.
    let mut late = invoice("RE-2026-00002", "2026-01-05");
    late.invoice.period_to = Some(day("2025-12-31"));
    let mut s = Setup::november().with(late);
    s.from = day("2026-01-01");
    s.to = day("2026-01-31");
    assert_eq!(col(&s.rows()[0], 115), "");
    // With a fiscal year from July, December lies in the same one.
    s.consultant.fiscal_year_start_month = 7;
    assert_eq!(col(&s.rows()[0], 115), "31122025");
}

#[test]
fn quotes_in_text_are_doubled_and_line_breaks_become_spaces() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.invoice.buyer.0.name = "Firma \"Blitz\"\r\nGmbH; Berlin".into();
    let s = Setup::november().with(doc);
    let bytes = s.run().unwrap();
    let needle = b"\"RE-2026-00001 Firma \"\"Blitz\"\"  GmbH; Berlin\"";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    let row = &read(&bytes)[2];
    assert_eq!(row.len(), 125, "the ; inside quotes splits nothing");
    assert_eq!(col(row, 14), "RE-2026-00001 Firma \"Blitz\"  GmbH; Berlin");
}

#[test]
fn the_booking_text_is_at_most_60_characters() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.invoice.buyer.0.name = "Ä".repeat(80);
    let row = &Setup::november().with(doc).rows()[0];
    assert_eq!(col(row, 14).chars().count(), 60);
    assert!(col(row, 14).starts_with("RE-2026-00001 ÄÄ"));
}

#[test]
fn every_line_ends_in_crlf_and_every_booking_has_125_fields() {
    let mut a = invoice("RE-2026-00001", "2026-11-05");
    a.vat_breakdown
        .push(group(VatCategory::S, "7", "50.00", "3.50"));
    let bytes = Setup::november()
        .with(a)
        .with(credit_note("GS-2026-00001", "2026-11-06", "RE-2026-00001"))
        .run()
        .unwrap();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(bytes[i - 1], b'\r', "LF at {i} without CR");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "CR at {i} without LF");
        }
    }
    let lines = read(&bytes);
    assert_eq!(lines.len(), 5);
    assert!(lines[2..].iter().all(|row| row.len() == 125));
    let raw_rows = bytes
        .split(|&b| b == b'\n')
        .skip(2)
        .filter(|l| !l.is_empty());
    for raw in raw_rows {
        assert_eq!(raw.iter().filter(|&&b| b == b';').count(), 124);
    }
}

#[test]
fn the_file_name_names_the_period() {
    let s = Setup::november();
    assert_eq!(
        file_name(&s.export(&[])),
        "EXTF_Buchungsstapel_20261101_20261130.csv"
    );
}
