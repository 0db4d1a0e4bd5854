//! Invoices and credit notes: drafts that can change, released documents
//! that never do. A credit note is a document of type `credit_note` (type
//! code 381, positive amounts) referring to the invoice it corrects.

use chrono::{DateTime, NaiveDate, Utc};
use psa_crm::domain::customer::{EinvoiceFormat, VatTreatment};
use psa_crm::domain::validate::Address;
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::money::{self, Taxable, Totals, VatCategory, VatGroup};
use super::settings::Settings;

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

/// A line as a person writes it (POST, and PATCH merges into it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    #[schema(schema_with = formats::line::<500>)]
    pub description: String,
    /// Above 0, `numeric(10, 4)`.
    #[serde(with = "psa_http::decimal::string")]
    #[schema(schema_with = formats::positive_decimal::<6, 4>)]
    pub quantity: Decimal,
    #[serde(default = "pieces")]
    pub unit_code: UnitCode,
    /// `numeric(12, 4)`; not negative.
    #[serde(with = "psa_http::decimal::string")]
    #[schema(schema_with = formats::decimal::<8, 4>)]
    pub unit_price: Decimal,
    /// Default: from the buyer's VAT treatment (`S` at the seller's rate,
    /// `AE`, `K`, `G` or `O` at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_category: Option<VatCategory>,
    /// Percent; default: the seller's rate for `S`, else 0.
    #[serde(
        default,
        with = "psa_http::decimal::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = formats::opt_decimal::<2, 2>)]
    pub vat_rate: Option<Decimal>,
    /// Needed for category `E`; other exempt categories have a default text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<500>)]
    pub exemption_reason: Option<String>,
}

fn pieces() -> UnitCode {
    UnitCode::C62
}

impl From<&InvoiceLine> for LineInput {
    fn from(l: &InvoiceLine) -> Self {
        Self {
            description: l.description.clone(),
            quantity: l.quantity,
            unit_code: l.unit_code,
            unit_price: l.unit_price,
            vat_category: Some(l.vat_category),
            vat_rate: Some(l.vat_rate),
            exemption_reason: l.exemption_reason.clone(),
        }
    }
}

/// A line's VAT once defaults are applied.
pub struct LineVat {
    pub category: VatCategory,
    pub rate: Decimal,
    pub exemption_reason: Option<String>,
}

impl LineInput {
    /// Checks the line, prefixing field names with `at` (`lines[2].`).
    pub fn validate_into(&self, at: &str, e: &mut FieldErrors) {
        e.text(&format!("{at}description"), &self.description, 500);
        e.decimal(&format!("{at}quantity"), Some(self.quantity), 6, 4);
        if self.quantity.is_zero() {
            e.add(&format!("{at}quantity"), "must be above 0");
        }
        e.decimal(&format!("{at}unit_price"), Some(self.unit_price), 8, 4);
        e.decimal(&format!("{at}vat_rate"), self.vat_rate, 2, 2);
        e.opt_text(
            &format!("{at}exemption_reason"),
            self.exemption_reason.as_deref(),
            500,
        );
        if self.quantity * self.unit_price >= Decimal::from(LINE_NET_MAX) {
            e.add_code(
                &format!("{at}unit_price"),
                "out_of_range",
                "quantity × unit_price must stay below 1000000000",
            );
        }
        if let Some(c) = self.vat_category {
            match self.vat_rate {
                Some(r) if !c.has_rate() && !r.is_zero() => e.add_code(
                    &format!("{at}vat_rate"),
                    "inconsistent",
                    format!("must be 0 for category {}", c.as_str()),
                ),
                Some(r) if c.has_rate() && r.is_zero() => e.add_code(
                    &format!("{at}vat_rate"),
                    "inconsistent",
                    "must be above 0 for category S (use Z for zero-rated)",
                ),
                _ => {}
            }
            if c == VatCategory::E && self.exemption_reason.is_none() {
                e.add_code(
                    &format!("{at}exemption_reason"),
                    "inconsistent",
                    "category E needs the exemption that applies",
                );
            }
        }
    }

    pub fn net(&self) -> Decimal {
        money::cents(self.quantity * self.unit_price)
    }

    /// The line's VAT, the buyer's default where the line says none.
    pub fn vat(&self, buyer: &Buyer, settings: &Settings) -> LineVat {
        let (default_category, default_rate) =
            default_vat(buyer.vat_treatment, settings.default_vat_rate);
        let category = self.vat_category.unwrap_or(default_category);
        let rate = match (self.vat_rate, category.has_rate()) {
            (Some(r), _) => r,
            (None, true) if category == default_category => default_rate,
            (None, true) => settings.default_vat_rate,
            (None, false) => Decimal::ZERO,
        };
        LineVat {
            category,
            rate,
            exemption_reason: self.exemption_reason.clone(),
        }
    }
}

/// A draft written by a person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    pub customer_id: Uuid,
    /// ISO 4217, upper case.
    #[serde(default = "eur")]
    #[schema(pattern = "^[A-Z]{3}$", default = "EUR")]
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_to: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<5000>)]
    pub notes: Option<String>,
    #[serde(default)]
    #[schema(max_items = 500)]
    pub lines: Vec<LineInput>,
}

fn eur() -> String {
    "EUR".into()
}

/// What a draft's head may change (PATCH merges into it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_to: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<5000>)]
    pub notes: Option<String>,
}

impl From<&Invoice> for DraftInput {
    fn from(i: &Invoice) -> Self {
        Self {
            period_from: i.period_from,
            period_to: i.period_to,
            notes: i.notes.clone(),
        }
    }
}

fn check_period(from: Option<NaiveDate>, to: Option<NaiveDate>, e: &mut FieldErrors) {
    e.date("period_from", from);
    e.date("period_to", to);
    match (from, to) {
        (Some(f), Some(t)) if t < f => e.add_code(
            "period_to",
            "inconsistent",
            "must not be before period_from",
        ),
        (Some(_), None) => e.add_code("period_to", "inconsistent", "goes with period_from"),
        (None, Some(_)) => e.add_code("period_from", "inconsistent", "goes with period_to"),
        _ => {}
    }
}

impl DraftInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        check_period(self.period_from, self.period_to, &mut e);
        e.opt_prose("notes", self.notes.as_deref(), 5000);
        e.finish()
    }
}

impl NewInvoice {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            e.add("currency", "must be an ISO 4217 code such as EUR");
        }
        check_period(self.period_from, self.period_to, &mut e);
        e.opt_prose("notes", self.notes.as_deref(), 5000);
        if self.lines.len() > LINES_MAX {
            e.add("lines", "at most 500 lines");
        }
        for (i, l) in self.lines.iter().enumerate() {
            l.validate_into(&format!("lines[{i}]."), &mut e);
        }
        e.finish()
    }
}

/// What a credit note credits of one invoice line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLine {
    pub line_id: Uuid,
    /// Default: all of the line's quantity not yet credited.
    #[serde(
        default,
        with = "psa_http::decimal::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = formats::opt_positive_decimal::<6, 4>)]
    pub quantity: Option<Decimal>,
}

/// A credit note for a released invoice: in full (no `lines`) or per line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCreditNote {
    /// Why the invoice is corrected; printed on the credit note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<5000>)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Option<Vec<CreditLine>>,
}

impl NewCreditNote {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.opt_prose("reason", self.reason.as_deref(), 5000);
        if let Some(lines) = &self.lines {
            if lines.is_empty() || lines.len() > LINES_MAX {
                e.add("lines", "1 to 500 lines");
            }
            for (i, l) in lines.iter().enumerate() {
                e.decimal(&format!("lines[{i}].quantity"), l.quantity, 6, 4);
                if l.quantity.is_some_and(|q| q.is_zero()) {
                    e.add(&format!("lines[{i}].quantity"), "must be above 0");
                }
            }
        }
        e.finish()
    }
}

/// What keeps a draft from release, every reason named by its field.
pub fn release_problems(
    doc: &Invoice,
    lines: &[InvoiceLine],
    seller: &Settings,
    buyer: &Buyer,
) -> Vec<FieldError> {
    let mut e = FieldErrors::default();
    let missing = |e: &mut FieldErrors, field: &str, what: &str| {
        e.add_code(field, "missing", format!("{what} is required to release"))
    };
    if seller.legal_name.is_none() {
        missing(&mut e, "seller.legal_name", "the seller's legal name");
    }
    if seller.address.is_none() {
        missing(&mut e, "seller.address", "the seller's address");
    }
    if seller.vat_id.is_none() && seller.tax_number.is_none() {
        missing(&mut e, "seller.vat_id", "the seller's VAT id or tax number");
    }
    if seller.iban.is_none() {
        missing(
            &mut e,
            "seller.iban",
            "the seller's IBAN (payment instructions)",
        );
    }
    match &buyer.address {
        None => missing(&mut e, "buyer.address", "the buyer's address"),
        Some(a) if a.postal_code.is_none() => {
            missing(&mut e, "buyer.address.postal_code", "the buyer's post code")
        }
        Some(_) => {}
    }
    if buyer.einvoice_format == EinvoiceFormat::Xrechnung {
        // XRechnung: BT-10 (BR-DE-15), the seller's contact (BR-DE-2, 5, 6, 7)
        // and electronic address (PEPPOL-EN16931-R020).
        if buyer.leitweg_id.is_none() {
            missing(
                &mut e,
                "buyer.leitweg_id",
                "an XRechnung buyer's Leitweg-ID",
            );
        }
        for (field, value, what) in [
            (
                "seller.contact_name",
                &seller.contact_name,
                "the seller's contact name",
            ),
            (
                "seller.contact_phone",
                &seller.contact_phone,
                "the seller's contact phone",
            ),
            (
                "seller.contact_email",
                &seller.contact_email,
                "the seller's contact e-mail",
            ),
            (
                "seller.electronic_address",
                &seller.electronic_address,
                "the seller's electronic address",
            ),
        ] {
            if value.is_none() {
                missing(&mut e, field, &format!("for XRechnung, {what}"));
            }
        }
    }
    let outside = lines
        .iter()
        .filter(|l| l.vat_category == VatCategory::O)
        .count();
    if outside > 0 && outside < lines.len() {
        e.add_code(
            "lines",
            "inconsistent",
            "lines outside the scope of VAT (O) cannot share an invoice with other categories (BR-O-11)",
        );
    }
    if lines.is_empty() {
        missing(&mut e, "lines", "at least one line");
    }
    if lines.iter().any(|l| l.vat_category.needs_both_vat_ids()) {
        if seller.vat_id.is_none() {
            e.add_code(
                "seller.vat_id",
                "missing",
                "reverse charge and intra-EU supplies need the seller's VAT id",
            );
        }
        if buyer.vat_id.is_none() {
            e.add_code(
                "buyer.vat_id",
                "missing",
                "reverse charge and intra-EU supplies need the buyer's VAT id",
            );
        }
    }
    if doc.invoice_type == InvoiceType::CreditNote && doc.gross_total <= Decimal::ZERO {
        e.add_code(
            "lines",
            "missing",
            "a credit note credits more than nothing",
        );
    }
    e.0
}

impl Seller {
    /// The seller as the settings say it, once they hold what release needs.
    pub fn from_settings(s: &Settings) -> Option<Self> {
        Some(Self {
            legal_name: s.legal_name.clone()?,
            address: s.address.as_ref()?.0.clone(),
            vat_id: s.vat_id.clone(),
            tax_number: s.tax_number.clone(),
            iban: s.iban.clone(),
            bic: s.bic.clone(),
            bank_name: s.bank_name.clone(),
            contact_name: s.contact_name.clone(),
            contact_phone: s.contact_phone.clone(),
            contact_email: s.contact_email.clone(),
            electronic_address: s.electronic_address.clone(),
        })
    }
}
