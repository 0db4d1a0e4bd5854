//! Service accounts: integrations (the Infexio sync) that sign in with OAuth2
//! client credentials. The secret is shown once and stored as a hash; a
//! rotation keeps the previous secrets working for an overlap.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Gets no tokens.
    Disabled,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub name: String,
    /// `sa.<tenant>.<random>`: what the client sends as its client_id.
    pub client_id: String,
    pub permissions: Vec<String>,
    pub status: AccountStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    /// Each registered by a module and held by the caller (403 otherwise).
    #[schema(schema_with = psa_kernel::docs::permissions)]
    pub permissions: Vec<String>,
}

impl NewServiceAccount {
    pub fn normalized(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.text("name", &self.name, super::user::NAME_MAX);
        super::role::check_permissions(&mut errors, &self.permissions);
        self.name = self.name.trim().to_owned();
        errors.finish().map(|()| self)
    }
}

/// The overlap when a rotation names none: a day to roll the new secret out.
pub const DEFAULT_OVERLAP_SECS: i64 = 86_400;
pub const MAX_OVERLAP_SECS: i64 = 30 * 86_400;

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the previous secret keeps working (default 24 h, at most 30 days).
    #[schema(minimum = 0, maximum = 2592000)]
    pub overlap_secs: Option<i64>,
}

impl Rotate {
    pub fn overlap_secs(&self) -> Result<i64, Vec<FieldError>> {
        let overlap = self.overlap_secs.unwrap_or(DEFAULT_OVERLAP_SECS);
        if (0..=MAX_OVERLAP_SECS).contains(&overlap) {
            Ok(overlap)
        } else {
            Err(vec![FieldError::new(
                "overlap_secs",
                format!("must be 0 to {MAX_OVERLAP_SECS}"),
            )])
        }
    }
}

/// A service account with its new secret: the one response that shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithSecret {
    #[serde(flatten)]
    pub account: ServiceAccount,
    /// Shown once; store it now.
    pub client_secret: String,
    /// When the previous secret stops working (rotation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}
