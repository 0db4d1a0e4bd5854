//! An asset (configuration item): a machine, network device, cloud tenant
//! or anything else an MSP manages for a customer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AssetStatus {
    InStock,
    #[default]
    Deployed,
    InRepair,
    Retired,
}

/// Ids of the asset in other systems: `infexio`, `rmm:<source>`, …
pub type ExternalIds = BTreeMap<String, String>;

/// At most this many systems per asset.
pub const EXTERNAL_IDS_MAX: usize = 20;
/// The longest id of an asset in another system.
pub const EXTERNAL_ID_MAX: usize = 200;
/// `system` or `system:qualifier`, each 1-32 of a-z, 0-9 and _.
const EXTERNAL_SYSTEM: &str = "^[a-z0-9_]{1,32}(:[a-z0-9_]{1,32})?$";

pub fn external_ids_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    formats::line_map(EXTERNAL_SYSTEM, EXTERNAL_ID_MAX, EXTERNAL_IDS_MAX)
}

/// `system` or `system:qualifier` (`rmm:ninja`).
pub fn valid_external_system(key: &str) -> bool {
    let part = |p: &str| {
        (1..=32).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    match key.split_once(':') {
        Some((system, qualifier)) => part(system) && part(qualifier),
        None => part(key),
    }
}

pub fn validate_external_ids(ids: &ExternalIds, e: &mut FieldErrors) {
    e.line_map(
        "external_ids",
        ids.iter(),
        valid_external_system,
        "systems are named `system` or `system:qualifier`, each 1-32 characters of a-z, 0-9 and _",
        EXTERNAL_ID_MAX,
        EXTERNAL_IDS_MAX,
    );
}

/// An asset as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Asset {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub site_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// The asset this one runs on or belongs to (a VM's host).
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// The key of one of the tenant's asset types (`server`).
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub asset_type: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub asset_tag: Option<String>,
    pub status: AssetStatus,
    pub purchase_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, example = "1299.00")]
    #[serde(with = "psa_http::decimal::opt_string")]
    pub purchase_price: Option<Decimal>,
    pub currency: Option<String>,
    pub warranty_end: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
    /// Where `eol_date` came from: `manual`, or
    /// `endoflife.date:<product>/<cycle>` when filled from the snapshot.
    pub eol_source: Option<String>,
    pub hostname: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    /// When an RMM last saw the asset.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    /// Values of the fields the asset's type defines.
    #[schema(value_type = Object)]
    pub custom_fields: Json<Map<String, Value>>,
    #[schema(schema_with = external_ids_schema)]
    pub external_ids: Json<ExternalIds>,
    /// Fields a person changed through the API: RMM inventory imports no
    /// longer overwrite them.
    pub manual_fields: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What POST takes and a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    pub customer_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    /// An asset type's key (`GET /v1/asset-types`).
    #[serde(rename = "type")]
    #[schema(schema_with = formats::line::<64>)]
    pub asset_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub model: Option<String>,
    /// Unique per tenant and manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub serial_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub asset_tag: Option<String>,
    #[serde(default)]
    pub status: AssetStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_date: Option<NaiveDate>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "psa_http::decimal::opt_string"
    )]
    #[schema(schema_with = formats::opt_decimal::<12, 2>)]
    pub purchase_price: Option<Decimal>,
    /// ISO 4217, required with `purchase_price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{3}$", min_length = 3, max_length = 3)]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warranty_end: Option<NaiveDate>,
    /// The end of life; without it, the end-of-life snapshot fills it where
    /// the model or operating system is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<253>)]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub os_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<10000>)]
    pub notes: Option<String>,
    /// Values of the fields the type defines, checked against them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = external_ids_schema)]
    pub external_ids: ExternalIds,
}

/// The input's fields a person may own (names as the API writes them).
pub const OWNABLE_FIELDS: &[&str] = &[
    "site_id",
    "contact_id",
    "parent_id",
    "name",
    "type",
    "manufacturer",
    "model",
    "serial_number",
    "asset_tag",
    "status",
    "purchase_date",
    "purchase_price",
    "currency",
    "warranty_end",
    "eol_date",
    "hostname",
    "os_name",
    "os_version",
    "notes",
    "custom_fields",
    "customer_id",
];

impl AssetInput {
    /// Checks what needs no database; the type's custom fields are checked
    /// where the type is read.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        e.text("type", &self.asset_type, 64);
        e.opt_text("manufacturer", self.manufacturer.as_deref(), 200);
        e.opt_text("model", self.model.as_deref(), 200);
        e.opt_text("serial_number", self.serial_number.as_deref(), 100);
        e.opt_text("asset_tag", self.asset_tag.as_deref(), 100);
        e.opt_text("hostname", self.hostname.as_deref(), 253);
        e.opt_text("os_name", self.os_name.as_deref(), 200);
        e.opt_text("os_version", self.os_version.as_deref(), 100);
        e.opt_prose("notes", self.notes.as_deref(), 10_000);
        e.date("purchase_date", self.purchase_date);
        e.date("warranty_end", self.warranty_end);
        e.date("eol_date", self.eol_date);
        e.decimal("purchase_price", self.purchase_price, 12, 2);
        match (&self.purchase_price, &self.currency) {
            (_, Some(c)) if !valid_currency(c) => {
                e.add("currency", "must be an ISO 4217 code such as EUR")
            }
            (Some(_), None) => {
                e.add_code("currency", "inconsistent", "required with purchase_price")
            }
            _ => {}
        }
        validate_external_ids(&self.external_ids, &mut e);
        e.finish()
    }

    /// The names of the fields whose values differ between `self` and `other`.
    pub fn changed_fields(&self, other: &AssetInput) -> Vec<&'static str> {
        let (a, b) = (
            serde_json::to_value(self).unwrap_or_default(),
            serde_json::to_value(other).unwrap_or_default(),
        );
        OWNABLE_FIELDS
            .iter()
            .copied()
            .filter(|f| a.get(f) != b.get(f))
            .collect()
    }
}

pub fn valid_currency(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

impl From<&Asset> for AssetInput {
    fn from(a: &Asset) -> Self {
        Self {
            customer_id: a.customer_id,
            site_id: a.site_id,
            contact_id: a.contact_id,
            parent_id: a.parent_id,
            name: a.name.clone(),
            asset_type: a.asset_type.clone(),
            manufacturer: a.manufacturer.clone(),
            model: a.model.clone(),
            serial_number: a.serial_number.clone(),
            asset_tag: a.asset_tag.clone(),
            status: a.status,
            purchase_date: a.purchase_date,
            purchase_price: a.purchase_price,
            currency: a.currency.clone(),
            warranty_end: a.warranty_end,
            eol_date: a.eol_date,
            hostname: a.hostname.clone(),
            os_name: a.os_name.clone(),
            os_version: a.os_version.clone(),
            notes: a.notes.clone(),
            custom_fields: a.custom_fields.0.clone(),
            external_ids: a.external_ids.0.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> AssetInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rules_beyond_the_schema() {
        let mut v = json!({"customer_id": Uuid::now_v7(), "name": "srv-01", "type": "server",
            "purchase_price": "1299.00"});
        let fields = |v: &Value| -> Vec<String> {
            input(v.clone())
                .validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(&v), ["currency"]);
        v["currency"] = json!("EUR");
        assert!(fields(&v).is_empty());
        v["external_ids"] = json!({"rmm:ninja": "42", "infexio": "a-1", "Bad Key": "x"});
        assert_eq!(fields(&v), ["external_ids.Bad Key"]);
    }

    #[test]
    fn external_systems() {
        for ok in ["infexio", "rmm:ninja", "rmm:n_able2"] {
            assert!(valid_external_system(ok), "{ok}");
        }
        for bad in ["", "rmm:", ":x", "a:b:c", "RMM", "rmm ninja"] {
            assert!(!valid_external_system(bad), "{bad}");
        }
    }

    #[test]
    fn changed_fields_name_what_differs() {
        let a = input(json!({"customer_id": Uuid::nil(), "name": "a", "type": "server"}));
        let mut b = a.clone();
        b.name = "b".into();
        b.os_name = Some("Debian".into());
        assert_eq!(b.changed_fields(&a), ["name", "os_name"]);
        assert!(a.changed_fields(&a).is_empty());
    }
}
