use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validate::{Address, ExternalIds, external_ids_schema, validate_external_ids};
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
}

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
}
