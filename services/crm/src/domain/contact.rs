use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;

/// A person at a customer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    /// At most one primary contact per customer; setting one clears the other.
    pub is_primary: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub customer_id: Uuid,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_phone)]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub title: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

impl ContactInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        e.email("email", self.email.as_deref());
        e.phone("phone", self.phone.as_deref());
        e.opt_text("title", self.title.as_deref(), 100);
        e.finish()
    }
}

impl From<&Contact> for ContactInput {
    fn from(c: &Contact) -> Self {
        Self {
            customer_id: c.customer_id,
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            title: c.title.clone(),
            is_primary: c.is_primary,
        }
    }
}
