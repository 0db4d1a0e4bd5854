use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validate::{
    Address, ExternalIds, INCONSISTENT, external_ids_schema, validate_external_ids,
};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CustomerStatus {
    Active,
    Inactive,
}

/// Which e-invoice a customer receives: `xrechnung` (XRechnung 3.0 CII
/// XML, for German public-sector buyers), `zugferd` (ZUGFeRD 2.3 /
/// Factur-X EN 16931, a PDF/A-3 with the XML inside), `pdf` (no structured
/// data).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EinvoiceFormat {
    /// XRechnung 3.0 (CII XML), what German public-sector buyers take
    /// (with their `leitweg_id` as the buyer reference).
    Xrechnung,
    /// ZUGFeRD 2.3 / Factur-X, profile EN 16931: a PDF/A-3 with the CII XML
    /// inside.
    #[default]
    Zugferd,
    /// A PDF without structured data (no e-invoice under EN 16931).
    Pdf,
}

/// How a customer's invoices are taxed, by the VAT category (UNCL 5305)
/// of their lines: `standard` domestic VAT (S); `reverse_charge` services
/// to an EU business, the buyer owes the VAT (AE); `intra_eu_supply` goods
/// to an EU business (K); `export` goods outside the EU (G);
/// `outside_scope` services to a non-EU business (O). `reverse_charge` and
/// `intra_eu_supply` need the customer's `vat_id`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum VatTreatment {
    /// Domestic VAT at the standard or reduced rate (category S).
    #[default]
    Standard,
    /// Services to a business in another EU country: the buyer owes the
    /// VAT (category AE); needs the customer's `vat_id`.
    ReverseCharge,
    /// Goods shipped to a business in another EU country (category K);
    /// needs the customer's `vat_id`.
    IntraEuSupply,
    /// Goods exported outside the EU (category G).
    Export,
    /// Services to a business outside the EU, not subject to German VAT
    /// (category O).
    OutsideScope,
}

impl VatTreatment {
    /// Whether invoices under it must name the buyer's VAT id (BT-48).
    pub fn needs_vat_id(self) -> bool {
        matches!(self, Self::ReverseCharge | Self::IntraEuSupply)
    }
}

/// A customer of the MSP.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Customer {
    pub id: Uuid,
    /// Unique per tenant; assigned as `C-000001`, … when not given.
    pub customer_number: String,
    pub name: String,
    pub status: CustomerStatus,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    #[schema(value_type = Option<Address>)]
    pub address: Option<Json<Address>>,
    pub notes: Option<String>,
    /// Ids of this customer in other systems, e.g. `{"infexio": "4711"}`.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub external_ids: Json<ExternalIds>,
    /// EU VAT id with its country prefix (the buyer's VAT id on invoices).
    pub vat_id: Option<String>,
    /// German tax number (Steuernummer).
    pub tax_number: Option<String>,
    /// The buyer reference of a German public-sector buyer (XRechnung BT-10).
    pub leitweg_id: Option<String>,
    /// Days from invoice date to due date; the seller's default when null.
    pub payment_terms_days: Option<i32>,
    /// The customer's DATEV debtor account (the export's Konto); the
    /// seller's collective debtor when null.
    #[serde(default)]
    pub debtor_account: Option<String>,
    /// Where invoices are sent.
    pub invoice_email: Option<String>,
    // The defaults read events published before these fields existed.
    #[serde(default)]
    #[schema(required = true)]
    pub einvoice_format: EinvoiceFormat,
    #[serde(default)]
    #[schema(required = true)]
    pub vat_treatment: VatTreatment,
    /// Where invoices are addressed; `address` when null.
    #[schema(value_type = Option<Address>)]
    pub billing_address: Option<Json<Address>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of a customer (POST body; PATCH merges into it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 50, pattern = "^[A-Za-z0-9_./-]+$")]
    pub customer_number: Option<String>,
    #[serde(default = "active")]
    pub status: CustomerStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_phone)]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_web_url)]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<10000>)]
    pub notes: Option<String>,
    /// Ids of this customer in other systems, e.g. `{"infexio": "4711"}`.
    #[serde(default)]
    #[schema(schema_with = external_ids_schema)]
    pub external_ids: ExternalIds,
    /// EU VAT id with its country prefix, upper case (`DE123456789`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_vat_id)]
    pub vat_id: Option<String>,
    /// German tax number (Steuernummer): digits, `/`, `-` and spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_tax_number)]
    pub tax_number: Option<String>,
    /// The buyer reference of a German public-sector buyer (XRechnung BT-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_leitweg_id)]
    pub leitweg_id: Option<String>,
    /// Days from invoice date to due date; the seller's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: Option<i32>,
    /// The customer's DATEV debtor account (Personenkonto, e.g. `10042`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_debtor_account)]
    pub debtor_account: Option<String>,
    /// Where invoices are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub invoice_email: Option<String>,
    /// `zugferd` when absent.
    #[serde(default)]
    pub einvoice_format: EinvoiceFormat,
    /// `standard` when absent; `reverse_charge` and `intra_eu_supply` need
    /// a `vat_id`.
    #[serde(default)]
    pub vat_treatment: VatTreatment,
    /// Where invoices are addressed; `address` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
}

/// The longest payment term, in days.
pub const PAYMENT_TERMS_DAYS_MAX: i32 = 365;

fn active() -> CustomerStatus {
    CustomerStatus::Active
}

impl CustomerInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        if let Some(n) = &self.customer_number
            && (n.is_empty()
                || n.len() > 50
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)))
        {
            e.add(
                "customer_number",
                "1-50 characters of A-Z, a-z, 0-9 and - _ . /",
            );
        }
        e.email("email", self.email.as_deref());
        e.phone("phone", self.phone.as_deref());
        e.url("website", self.website.as_deref());
        if let Some(a) = &self.address {
            a.validate("address", &mut e);
        }
        e.opt_prose("notes", self.notes.as_deref(), 10_000);
        validate_external_ids(&self.external_ids, &mut e);
        e.vat_id("vat_id", self.vat_id.as_deref());
        e.tax_number("tax_number", self.tax_number.as_deref());
        e.leitweg_id("leitweg_id", self.leitweg_id.as_deref());
        e.debtor_account("debtor_account", self.debtor_account.as_deref());
        if self
            .payment_terms_days
            .is_some_and(|d| !(0..=PAYMENT_TERMS_DAYS_MAX).contains(&d))
        {
            e.add(
                "payment_terms_days",
                format!("must be 0 to {PAYMENT_TERMS_DAYS_MAX}"),
            );
        }
        e.email("invoice_email", self.invoice_email.as_deref());
        if self.vat_treatment.needs_vat_id() && self.vat_id.is_none() {
            e.add_code(
                "vat_id",
                INCONSISTENT,
                "a customer under reverse_charge or intra_eu_supply needs a vat_id",
            );
        }
        if let Some(a) = &self.billing_address {
            a.validate("billing_address", &mut e);
        }
        e.finish()
    }
}

impl From<&Customer> for CustomerInput {
    fn from(c: &Customer) -> Self {
        Self {
            name: c.name.clone(),
            customer_number: Some(c.customer_number.clone()),
            status: c.status,
            email: c.email.clone(),
            phone: c.phone.clone(),
            website: c.website.clone(),
            address: c.address.as_ref().map(|a| a.0.clone()),
            notes: c.notes.clone(),
            external_ids: c.external_ids.0.clone(),
            vat_id: c.vat_id.clone(),
            tax_number: c.tax_number.clone(),
            leitweg_id: c.leitweg_id.clone(),
            payment_terms_days: c.payment_terms_days,
            debtor_account: c.debtor_account.clone(),
            invoice_email: c.invoice_email.clone(),
            einvoice_format: c.einvoice_format,
            vat_treatment: c.vat_treatment,
            billing_address: c.billing_address.as_ref().map(|a| a.0.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CustomerInput {
        serde_json::from_value(serde_json::json!({"name": "Acme"})).unwrap()
    }

    #[test]
    fn minimal_customer_is_valid_and_active() {
        let c = input();
        assert!(c.validate().is_ok());
        assert_eq!(c.status, CustomerStatus::Active);
    }

    #[test]
    fn reports_every_bad_field() {
        let mut c = input();
        c.name = " ".into();
        c.email = Some("nope".into());
        c.website = Some("ftp://x".into());
        c.customer_number = Some("bad number".into());
        let errs = c.validate().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "customer_number", "email", "website"]);
    }

    #[test]
    fn billing_fields_default_and_bounds() {
        let c = input();
        assert_eq!(c.einvoice_format, EinvoiceFormat::Zugferd);
        assert_eq!(c.vat_treatment, VatTreatment::Standard);
        let c: CustomerInput = serde_json::from_value(serde_json::json!({
            "name": "Acme", "vat_id": "de123", "tax_number": "x", "leitweg_id": "1-2",
            "payment_terms_days": 366, "invoice_email": "nope", "debtor_account": "70001",
            "billing_address": {"line1": "A 1", "city": "Berlin", "country": "de"}
        }))
        .unwrap();
        let errs = c.validate().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "vat_id",
                "tax_number",
                "leitweg_id",
                "debtor_account",
                "payment_terms_days",
                "invoice_email",
                "billing_address.country"
            ]
        );
    }

    #[test]
    fn eu_b2b_treatments_need_a_vat_id() {
        for treatment in [VatTreatment::ReverseCharge, VatTreatment::IntraEuSupply] {
            let mut c = input();
            c.vat_treatment = treatment;
            let errs = c.validate().unwrap_err();
            assert_eq!(
                (errs[0].field.as_str(), errs[0].code.as_str()),
                ("vat_id", INCONSISTENT)
            );
            c.vat_id = Some("ATU12345678".into());
            assert!(c.validate().is_ok());
        }
        for treatment in [VatTreatment::Export, VatTreatment::OutsideScope] {
            let mut c = input();
            c.vat_treatment = treatment;
            assert!(c.validate().is_ok(), "{treatment:?}");
        }
    }
}
