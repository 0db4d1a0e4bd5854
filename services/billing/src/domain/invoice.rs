//! Invoices and credit notes: drafts that can change, released documents
//! that never do. A credit note is a document of type `credit_note` (type
//! code 381, positive amounts) referring to the invoice it corrects. What
//! people write is in [`super::input`], what release checks in
//! [`super::release`].

use chrono::{DateTime, NaiveDate, Utc};
use psa_crm::domain::customer::{EinvoiceFormat, VatTreatment};
use psa_crm::domain::validate::Address;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::money::{self, Taxable, Totals, VatCategory, VatGroup};

pub use super::input::{CreditLine, DraftInput, LineInput, LineVat, NewCreditNote, NewInvoice};
pub use super::release::release_problems;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum InvoiceType {
    /// Type code 380.
    Invoice,
    /// Type code 381: corrects a released invoice.
    CreditNote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    /// Numbered and final; corrected only by credit notes.
    Released,
}

/// The buyer as the document names it: the customer's data when the draft
/// was made, taken again at release and frozen with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Buyer {
    pub customer_number: String,
    pub name: String,
    /// The billing address, else the customer's address.
    pub address: Option<Address>,
    pub vat_id: Option<String>,
    pub tax_number: Option<String>,
    /// BT-10 for public-sector buyers.
    pub leitweg_id: Option<String>,
    pub email: Option<String>,
    pub payment_terms_days: Option<i32>,
    /// The customer's DATEV debtor account when the document was released.
    #[serde(default)]
    pub debtor_account: Option<String>,
    pub einvoice_format: EinvoiceFormat,
    pub vat_treatment: VatTreatment,
}

/// The seller as the document names it, frozen at release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Seller {
    pub legal_name: String,
    pub address: Address,
    pub vat_id: Option<String>,
    pub tax_number: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub electronic_address: Option<String>,
}

/// The document's head, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Invoice {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub invoice_type: InvoiceType,
    pub status: InvoiceStatus,
    /// Given at release, from the tenant's series; gap-free.
    pub number: Option<String>,
    pub customer_id: Uuid,
    /// ISO 4217.
    pub currency: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// The service period (BG-14).
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub notes: Option<String>,
    #[schema(value_type = Buyer)]
    pub buyer: Json<Buyer>,
    #[schema(value_type = Option<Seller>)]
    pub seller: Option<Json<Seller>>,
    /// A credit note's invoice (BT-25/26).
    pub preceding_invoice_id: Option<Uuid>,
    pub preceding_number: Option<String>,
    pub preceding_issue_date: Option<NaiveDate>,
    /// The invoice run that made the draft.
    pub run_id: Option<Uuid>,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1237.50")]
    pub net_total: Decimal,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "235.13")]
    pub tax_total: Decimal,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1472.63")]
    pub gross_total: Decimal,
    pub released_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line's kind: what made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LineKind {
    /// A contract's monthly fee.
    Fee,
    /// Time at the hourly rate.
    Time,
    /// Time beyond included or prepaid hours.
    Overage,
    /// A prepaid block of hours.
    Block,
    /// Written by a person.
    Manual,
    /// A credit note's line, crediting a line of the invoice.
    Credit,
}

/// UN/ECE Recommendation 20 unit codes the lines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "text")]
pub enum UnitCode {
    /// Hours.
    HUR,
    /// Days.
    DAY,
    /// Months.
    MON,
    /// Pieces.
    C62,
}

impl UnitCode {
    pub fn parse(s: &str) -> Option<Self> {
        [Self::HUR, Self::DAY, Self::MON, Self::C62]
            .into_iter()
            .find(|u| u.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HUR => "HUR",
            Self::DAY => "DAY",
            Self::MON => "MON",
            Self::C62 => "C62",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct InvoiceLine {
    pub id: Uuid,
    /// 1, 2, … in the document (BT-126).
    pub position: i32,
    pub kind: LineKind,
    pub description: String,
    #[schema(value_type = String, example = "2.5")]
    pub quantity: Decimal,
    pub unit_code: UnitCode,
    #[schema(value_type = String, example = "95.00")]
    pub unit_price: Decimal,
    /// round(quantity × unit_price), or the prorated fee.
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "237.50")]
    pub net_amount: Decimal,
    pub vat_category: VatCategory,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "19.00")]
    pub vat_rate: Decimal,
    pub exemption_reason: Option<String>,
    pub contract_id: Option<Uuid>,
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// On a credit note: the invoice line it credits.
    pub credited_line_id: Option<Uuid>,
}

/// An invoice with its lines, VAT breakdown and what is still open.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvoiceDocument {
    #[serde(flatten)]
    pub invoice: Invoice,
    pub lines: Vec<InvoiceLine>,
    /// One group per VAT category and rate (BG-23).
    pub vat_breakdown: Vec<VatGroup>,
    /// A released invoice's gross total less its released credit notes
    /// (and, once recorded, payments); null on drafts and credit notes.
    #[serde(serialize_with = "psa_http::decimal::opt_two_places")]
    #[schema(value_type = Option<String>, example = "1472.63")]
    pub open_amount: Option<Decimal>,
    /// A released document's files (its XML and PDF, with their SHA-256),
    /// rendered at release; empty on drafts.
    #[serde(default)]
    pub files: Vec<crate::documents::DocumentFile>,
}

/// The totals of `lines`.
pub fn totals_of(lines: &[InvoiceLine]) -> Totals {
    money::totals(lines.iter().map(|l| Taxable {
        category: l.vat_category,
        rate: l.vat_rate,
        net: l.net_amount,
        exemption_reason: l.exemption_reason.as_deref(),
    }))
}

/// The VAT a buyer's lines get unless a line says otherwise.
pub fn default_vat(treatment: VatTreatment, default_rate: Decimal) -> (VatCategory, Decimal) {
    match treatment {
        VatTreatment::Standard => (VatCategory::S, default_rate),
        VatTreatment::ReverseCharge => (VatCategory::AE, Decimal::ZERO),
        VatTreatment::IntraEuSupply => (VatCategory::K, Decimal::ZERO),
        VatTreatment::Export => (VatCategory::G, Decimal::ZERO),
        VatTreatment::OutsideScope => (VatCategory::O, Decimal::ZERO),
    }
}

/// At most this many lines on a document.
pub const LINES_MAX: usize = 500;
/// A line's net amount stays below this, so 500 lines stay below the
/// totals' column range.
pub const LINE_NET_MAX: i64 = 1_000_000_000;
