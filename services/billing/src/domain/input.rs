//! What people write on drafts: a draft by hand, its head, its lines, and
//! the credit notes they ask for.

use chrono::NaiveDate;
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::invoice::{Buyer, Invoice, InvoiceLine, LINE_NET_MAX, LINES_MAX, UnitCode, default_vat};
use super::money::{self, VatCategory};
use super::settings::Settings;

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
