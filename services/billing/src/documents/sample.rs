//! Released documents for the documents' unit tests.

use chrono::{NaiveDate, TimeZone, Utc};
use psa_crm::domain::customer::{EinvoiceFormat, VatTreatment};
use psa_crm::domain::validate::Address;
use rust_decimal::Decimal;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::invoice::{
    Buyer, Invoice, InvoiceDocument, InvoiceLine, InvoiceStatus, InvoiceType, LineKind, Seller,
    UnitCode, totals_of,
};
use crate::domain::money::VatCategory;

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn seller() -> Seller {
    Seller {
        legal_name: "Muster IT GmbH".into(),
        address: Address {
            line1: "Marktplatz 1".into(),
            line2: None,
            postal_code: Some("80331".into()),
            city: "München".into(),
            region: None,
            country: "DE".into(),
        },
        vat_id: Some("DE123456789".into()),
        tax_number: Some("143/123/45678".into()),
        iban: Some("DE02120300000000202051".into()),
        bic: Some("BYLADEM1001".into()),
        bank_name: Some("Deutsche Kreditbank".into()),
        contact_name: Some("Erika Muster".into()),
        contact_phone: Some("+49 89 123456".into()),
        contact_email: Some("billing@muster-it.de".into()),
        electronic_address: Some("billing@muster-it.de".into()),
    }
}

pub fn buyer() -> Buyer {
    Buyer {
        customer_number: "C-000001".into(),
        name: "Contoso GmbH & Co. KG".into(),
        address: Some(Address {
            line1: "Hauptstr. 1".into(),
            line2: None,
            postal_code: Some("10115".into()),
            city: "Berlin".into(),
            region: None,
            country: "DE".into(),
        }),
        vat_id: Some("DE987654321".into()),
        tax_number: None,
        leitweg_id: None,
        email: Some("ap@contoso.de".into()),
        payment_terms_days: Some(14),
        debtor_account: Some("10042".into()),
        einvoice_format: EinvoiceFormat::Zugferd,
        vat_treatment: VatTreatment::Standard,
    }
}

/// A line: (description, quantity, unit, price, net, category, rate).
pub fn line(
    position: i32,
    (description, quantity, unit_code, price, net): (&str, &str, UnitCode, &str, &str),
    (category, rate): (VatCategory, &str),
) -> InvoiceLine {
    InvoiceLine {
        id: Uuid::now_v7(),
        position,
        kind: LineKind::Manual,
        description: description.into(),
        quantity: d(quantity),
        unit_code,
        unit_price: d(price),
        net_amount: d(net),
        vat_category: category,
        vat_rate: d(rate),
        exemption_reason: None,
        contract_id: None,
        period_from: None,
        period_to: None,
        credited_line_id: None,
    }
}

/// A released invoice (or credit note) of `lines`, numbered `number`,
/// issued on 2026-11-30 for November.
pub fn released(
    number: &str,
    invoice_type: InvoiceType,
    lines: Vec<InvoiceLine>,
) -> InvoiceDocument {
    let totals = totals_of(&lines);
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let credit = invoice_type == InvoiceType::CreditNote;
    InvoiceDocument {
        invoice: Invoice {
            id: Uuid::now_v7(),
            invoice_type,
            status: InvoiceStatus::Released,
            number: Some(number.into()),
            customer_id: Uuid::now_v7(),
            currency: "EUR".into(),
            issue_date: Some(date("2026-11-30")),
            due_date: Some(date("2026-12-14")),
            period_from: Some(date("2026-11-01")),
            period_to: Some(date("2026-11-30")),
            notes: None,
            buyer: Json(buyer()),
            seller: Some(Json(seller())),
            preceding_invoice_id: credit.then(Uuid::now_v7),
            preceding_number: credit.then(|| "RE-2026-00001".to_owned()),
            preceding_issue_date: credit.then(|| date("2026-11-02")),
            run_id: None,
            net_total: totals.net,
            tax_total: totals.tax,
            gross_total: totals.gross,
            released_at: Some(at),
            version: 2,
            created_at: at,
            updated_at: at,
        },
        vat_breakdown: totals.groups,
        lines,
        open_amount: None,
        files: vec![],
    }
}

/// 19 % and 7 %: three lines.
pub fn two_rates() -> InvoiceDocument {
    released(
        "RE-2026-00042",
        InvoiceType::Invoice,
        vec![
            line(
                1,
                (
                    "Managed services November",
                    "1",
                    UnitCode::MON,
                    "1000.00",
                    "1000.00",
                ),
                (VatCategory::S, "19"),
            ),
            line(
                2,
                ("Remote support", "2.5", UnitCode::HUR, "95.00", "237.50"),
                (VatCategory::S, "19"),
            ),
            line(
                3,
                ("Fachbuch „Netzwerke“", "1", UnitCode::C62, "49.90", "49.90"),
                (VatCategory::S, "7"),
            ),
        ],
    )
}
