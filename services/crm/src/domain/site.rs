use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validate::{Address, TimeZone, valid_time_zone};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;

/// A location of a customer (office, data centre, branch).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Site {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    #[schema(value_type = Option<Address>)]
    pub address: Option<Json<Address>>,
    pub phone: Option<String>,
    /// IANA time zone of the site (`Europe/Berlin`).
    pub time_zone: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    pub customer_id: Uuid,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_phone)]
    pub phone: Option<String>,
    /// An IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TimeZone>, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_prose::<10000>)]
    pub notes: Option<String>,
}

impl SiteInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        if let Some(a) = &self.address {
            a.validate("address", &mut e);
        }
        e.phone("phone", self.phone.as_deref());
        if let Some(tz) = &self.time_zone
            && !valid_time_zone(tz)
        {
            e.add(
                "time_zone",
                "must be an IANA time zone such as Europe/Berlin",
            );
        }
        e.opt_prose("notes", self.notes.as_deref(), 10_000);
        e.finish()
    }
}

impl From<&Site> for SiteInput {
    fn from(s: &Site) -> Self {
        Self {
            customer_id: s.customer_id,
            name: s.name.clone(),
            address: s.address.as_ref().map(|a| a.0.clone()),
            phone: s.phone.clone(),
            time_zone: s.time_zone.clone(),
            notes: s.notes.clone(),
        }
    }
}
