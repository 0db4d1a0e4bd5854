//! The seller: what every invoice of the tenant says about the MSP, its
//! bank account, its number series and its default VAT rate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use psa_crm::domain::validate::Address;
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use super::numbering::NumberFormat;

/// The chart of accounts the DATEV export books to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChartOfAccounts {
    Skr03,
    Skr04,
}

/// The seller's settings (`version` 0 until first written).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Settings {
    pub legal_name: Option<String>,
    #[schema(value_type = Option<Address>)]
    pub address: Option<Json<Address>>,
    pub vat_id: Option<String>,
    pub tax_number: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    /// Where buyers send e-invoices to the seller (BT-34), usually an e-mail.
    pub electronic_address: Option<String>,
    pub default_payment_terms_days: i32,
    pub invoice_number_format: String,
    pub credit_note_number_format: String,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "19.00")]
    pub default_vat_rate: Decimal,
    pub chart_of_accounts: ChartOfAccounts,
    /// Account numbers by purpose (e.g. `revenue_19`: `8400`), for the DATEV export.
    #[schema(value_type = BTreeMap<String, String>)]
    pub accounts: Json<BTreeMap<String, String>>,
    /// DATEV Beraternummer of the tax advisor (1001 to 9999999).
    pub datev_consultant_number: Option<i32>,
    /// DATEV Mandantennummer of the MSP at its tax advisor (1 to 99999).
    pub datev_client_number: Option<i32>,
    /// The month the fiscal year starts in (1 = January).
    pub fiscal_year_start_month: i32,
    /// DATEV Sachkontenlänge: digits of a general ledger account (4 to 8);
    /// debtor accounts have one more.
    pub account_length: i32,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The writable settings; PATCH merges into them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub legal_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_vat_id)]
    pub vat_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_tax_number)]
    pub tax_number: Option<String>,
    /// Upper case, no spaces (`DE02120300000000202051`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_iban)]
    pub iban: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_bic)]
    pub bic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub bank_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_phone)]
    pub contact_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub contact_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub electronic_address: Option<String>,
    #[serde(default = "payment_terms")]
    #[schema(minimum = 0, maximum = 365, default = 14)]
    pub default_payment_terms_days: i32,
    #[serde(default = "invoice_format")]
    #[schema(schema_with = formats::number_format)]
    pub invoice_number_format: String,
    #[serde(default = "credit_note_format")]
    #[schema(schema_with = formats::number_format)]
    pub credit_note_number_format: String,
    /// Percent, above 0 and below 100.
    #[serde(default = "vat_rate", with = "psa_http::decimal::string")]
    #[schema(schema_with = formats::positive_decimal::<2, 2>)]
    pub default_vat_rate: Decimal,
    #[serde(default = "skr03")]
    pub chart_of_accounts: ChartOfAccounts,
    #[serde(default)]
    #[schema(schema_with = accounts_schema)]
    pub accounts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1001, maximum = 9999999)]
    pub datev_consultant_number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 99999)]
    pub datev_client_number: Option<i32>,
    #[serde(default = "january")]
    #[schema(minimum = 1, maximum = 12, default = 1)]
    pub fiscal_year_start_month: i32,
    #[serde(default = "four")]
    #[schema(minimum = 4, maximum = 8, default = 4)]
    pub account_length: i32,
}

/// At most this many account mappings.
const ACCOUNTS_MAX: usize = 100;

fn accounts_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    formats::string_map("^[a-z0-9_]{1,50}$", "^[0-9]{1,20}$", 20, ACCOUNTS_MAX)
}

fn payment_terms() -> i32 {
    14
}
fn invoice_format() -> String {
    "RE-{YYYY}-{seq:05}".into()
}
fn credit_note_format() -> String {
    "GS-{YYYY}-{seq:05}".into()
}
fn vat_rate() -> Decimal {
    Decimal::new(1900, 2)
}
fn skr03() -> ChartOfAccounts {
    ChartOfAccounts::Skr03
}
fn january() -> i32 {
    1
}
fn four() -> i32 {
    4
}

impl Default for SettingsInput {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("every field has a default")
    }
}

impl From<&Settings> for SettingsInput {
    fn from(s: &Settings) -> Self {
        Self {
            legal_name: s.legal_name.clone(),
            address: s.address.as_ref().map(|a| a.0.clone()),
            vat_id: s.vat_id.clone(),
            tax_number: s.tax_number.clone(),
            iban: s.iban.clone(),
            bic: s.bic.clone(),
            bank_name: s.bank_name.clone(),
            contact_name: s.contact_name.clone(),
            contact_phone: s.contact_phone.clone(),
            contact_email: s.contact_email.clone(),
            electronic_address: s.electronic_address.clone(),
            default_payment_terms_days: s.default_payment_terms_days,
            invoice_number_format: s.invoice_number_format.clone(),
            credit_note_number_format: s.credit_note_number_format.clone(),
            default_vat_rate: s.default_vat_rate,
            chart_of_accounts: s.chart_of_accounts,
            accounts: s.accounts.0.clone(),
            datev_consultant_number: s.datev_consultant_number,
            datev_client_number: s.datev_client_number,
            fiscal_year_start_month: s.fiscal_year_start_month,
            account_length: s.account_length,
        }
    }
}

impl Settings {
    /// What a tenant that never wrote its settings has.
    pub fn defaults() -> Self {
        let d = SettingsInput::default();
        Self {
            legal_name: None,
            address: None,
            vat_id: None,
            tax_number: None,
            iban: None,
            bic: None,
            bank_name: None,
            contact_name: None,
            contact_phone: None,
            contact_email: None,
            electronic_address: None,
            default_payment_terms_days: d.default_payment_terms_days,
            invoice_number_format: d.invoice_number_format,
            credit_note_number_format: d.credit_note_number_format,
            default_vat_rate: d.default_vat_rate,
            chart_of_accounts: d.chart_of_accounts,
            accounts: Json(d.accounts),
            datev_consultant_number: None,
            datev_client_number: None,
            fiscal_year_start_month: d.fiscal_year_start_month,
            account_length: d.account_length,
            version: 0,
            updated_at: None,
        }
    }

    pub fn invoice_format(&self) -> NumberFormat {
        NumberFormat::parse(&self.invoice_number_format).expect("validated when written")
    }

    pub fn credit_note_format(&self) -> NumberFormat {
        NumberFormat::parse(&self.credit_note_number_format).expect("validated when written")
    }
}

/// An IBAN: country, check digits, up to 30 letters and digits, and the
/// ISO 13616 check (mod 97 = 1).
pub fn iban_ok(s: &str) -> bool {
    if !formats::IBAN.matches(s) {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = c.to_digit(36).expect("checked by the pattern");
        for digit in if v >= 10 {
            vec![v / 10, v % 10]
        } else {
            vec![v]
        } {
            rem = (rem * 10 + digit) % 97;
        }
    }
    rem == 1
}

impl SettingsInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.opt_text("legal_name", self.legal_name.as_deref(), 200);
        if let Some(a) = &self.address {
            a.validate("address", &mut e);
        }
        e.vat_id("vat_id", self.vat_id.as_deref());
        e.tax_number("tax_number", self.tax_number.as_deref());
        if let Some(iban) = &self.iban {
            if !formats::IBAN.matches(iban) {
                e.add("iban", "must be an IBAN, upper case, no spaces");
            } else if !iban_ok(iban) {
                e.add_code("iban", "checksum", "the IBAN's check digits do not match");
            }
        }
        if let Some(bic) = &self.bic
            && !formats::BIC.matches(bic)
        {
            e.add("bic", "must be a BIC of 8 or 11 characters");
        }
        e.opt_text("bank_name", self.bank_name.as_deref(), 100);
        e.opt_text("contact_name", self.contact_name.as_deref(), 200);
        e.phone("contact_phone", self.contact_phone.as_deref());
        e.email("contact_email", self.contact_email.as_deref());
        e.email("electronic_address", self.electronic_address.as_deref());
        if !(0..=365).contains(&self.default_payment_terms_days) {
            e.add("default_payment_terms_days", "0 to 365");
        }
        for (field, f) in [
            ("invoice_number_format", &self.invoice_number_format),
            ("credit_note_number_format", &self.credit_note_number_format),
        ] {
            if let Err(why) = NumberFormat::parse(f) {
                e.add(field, why);
            }
        }
        if let (Ok(a), Ok(b)) = (
            NumberFormat::parse(&self.invoice_number_format),
            NumberFormat::parse(&self.credit_note_number_format),
        ) && a.overlaps(&b)
        {
            e.add_code(
                "credit_note_number_format",
                "inconsistent",
                "must not print numbers invoice_number_format prints (the two series must not share numbers)",
            );
        }
        e.decimal("default_vat_rate", Some(self.default_vat_rate), 2, 2);
        if self.default_vat_rate.is_zero() {
            // Category S needs a rate above 0 (BR-S-05); zero-rated is Z.
            e.add("default_vat_rate", "must be above 0");
        }
        if self.accounts.len() > ACCOUNTS_MAX {
            e.add("accounts", "at most 100 accounts");
        }
        for (k, v) in &self.accounts {
            let key_ok = !k.is_empty()
                && k.len() <= 50
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                e.add("accounts", "keys are 1 to 50 of a-z, 0-9 and _");
            }
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                e.add(
                    &format!("accounts.{k}"),
                    "an account number: 1 to 20 digits",
                );
            }
        }
        if let Some(n) = self.datev_consultant_number
            && !(1001..=9_999_999).contains(&n)
        {
            e.add("datev_consultant_number", "1001 to 9999999");
        }
        if let Some(n) = self.datev_client_number
            && !(1..=99_999).contains(&n)
        {
            e.add("datev_client_number", "1 to 99999");
        }
        if !(1..=12).contains(&self.fiscal_year_start_month) {
            e.add("fiscal_year_start_month", "1 to 12");
        }
        if !(4..=8).contains(&self.account_length) {
            e.add("account_length", "4 to 8");
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_by_their_check_digits() {
        assert!(iban_ok("DE02120300000000202051"));
        assert!(iban_ok("GB29NWBK60161331926819"));
        assert!(!iban_ok("DE03120300000000202051"));
        assert!(!iban_ok("DE02 1203 0000 0000 2020 51"));
        assert!(!iban_ok("de02120300000000202051"));
    }

    #[test]
    fn the_defaults_are_valid_and_series_must_differ() {
        assert!(SettingsInput::default().validate().is_ok());
        let same = SettingsInput {
            credit_note_number_format: "RE-{YYYY}-{seq:05}".into(),
            ..SettingsInput::default()
        };
        assert!(same.validate().is_err());
    }
}
