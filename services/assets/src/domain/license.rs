//! A software or subscription license of a customer, its seats and their
//! assignments to assets or contacts.

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::asset::{ExternalIds, external_ids_schema, valid_currency, validate_external_ids};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum BillingCycle {
    Monthly,
    Quarterly,
    Annual,
    OneTime,
}

/// The most seats one license has.
pub const SEATS_MAX: i32 = 1_000_000;
/// The longest license key kept.
pub const KEY_MAX: usize = 4096;

/// A license as the API shows it. The key itself is never part of it:
/// `GET /v1/licenses/{id}/key` reveals it to `licenses:reveal`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct License {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product: String,
    pub vendor: Option<String>,
    /// Whether a key is stored.
    pub has_key: bool,
    pub seats: i32,
    /// Seats taken by assignments.
    pub seats_used: i64,
    pub start_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, example = "480.00")]
    #[serde(with = "psa_http::decimal::opt_string")]
    pub cost: Option<Decimal>,
    pub currency: Option<String>,
    pub billing_cycle: Option<BillingCycle>,
    pub notes: Option<String>,
    #[schema(schema_with = external_ids_schema)]
    pub external_ids: Json<ExternalIds>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What POST takes and a merge patch applies to. `license_key` is
/// write-only: set it, replace it, or clear it with `null`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseInput {
    pub customer_id: Uuid,
    #[schema(schema_with = formats::line::<200>)]
    pub product: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub vendor: Option<String>,
    /// Stored encrypted; never returned by reads of the license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<4096>)]
    pub license_key: Option<String>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub seats: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<NaiveDate>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "psa_http::decimal::opt_string"
    )]
    #[schema(schema_with = formats::opt_decimal::<12, 2>)]
    pub cost: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{3}$", min_length = 3, max_length = 3)]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cycle: Option<BillingCycle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<10000>)]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(schema_with = external_ids_schema)]
    pub external_ids: ExternalIds,
}

impl LicenseInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("product", &self.product, 200);
        e.opt_text("vendor", self.vendor.as_deref(), 200);
        e.opt_text("license_key", self.license_key.as_deref(), KEY_MAX);
        if !(1..=SEATS_MAX).contains(&self.seats) {
            e.add_code("seats", "out_of_range", format!("must be 1 to {SEATS_MAX}"));
        }
        e.date("start_date", self.start_date);
        e.date("expiry_date", self.expiry_date);
        if let (Some(s), Some(x)) = (self.start_date, self.expiry_date)
            && x < s
        {
            e.add_code(
                "expiry_date",
                "inconsistent",
                "must not be before start_date",
            );
        }
        e.decimal("cost", self.cost, 12, 2);
        match (&self.cost, &self.currency) {
            (_, Some(c)) if !valid_currency(c) => {
                e.add("currency", "must be an ISO 4217 code such as EUR")
            }
            (Some(_), None) => e.add_code("currency", "inconsistent", "required with cost"),
            _ => {}
        }
        e.opt_prose("notes", self.notes.as_deref(), 10_000);
        validate_external_ids(&self.external_ids, &mut e);
        e.finish()
    }
}

/// The license's fields as a merge patch starts from them (without the
/// key, which the patch handles on its own).
impl From<&License> for LicenseInput {
    fn from(l: &License) -> Self {
        Self {
            customer_id: l.customer_id,
            product: l.product.clone(),
            vendor: l.vendor.clone(),
            license_key: None,
            seats: l.seats,
            start_date: l.start_date,
            expiry_date: l.expiry_date,
            cost: l.cost,
            currency: l.currency.clone(),
            billing_cycle: l.billing_cycle,
            notes: l.notes.clone(),
            external_ids: l.external_ids.0.clone(),
        }
    }
}

/// One seat of a license, given to an asset or a contact.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Assignment {
    pub id: Uuid,
    pub license_id: Uuid,
    pub asset_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Exactly one of `asset_id` and `contact_id`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    #[serde(default)]
    pub asset_id: Option<Uuid>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<500>)]
    pub note: Option<String>,
}

impl AssignmentInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if self.asset_id.is_some() == self.contact_id.is_some() {
            e.add_code(
                "asset_id",
                "inconsistent",
                "name exactly one of asset_id and contact_id",
            );
        }
        e.opt_text("note", self.note.as_deref(), 500);
        e.finish()
    }
}

/// The revealed key, with the reveal's record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevealedKey {
    pub license_id: Uuid,
    pub license_key: String,
    pub revealed_at: DateTime<Utc>,
}

/// One reading of a license's key: who, when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct KeyReveal {
    pub id: Uuid,
    pub license_id: Uuid,
    /// The caller's subject (a user, or a service account's client).
    pub subject: String,
    pub client_id: Option<String>,
    pub revealed_at: DateTime<Utc>,
}
