//! Tenants: the MSPs on the platform. Platform operators create, list and
//! suspend them; a tenant's admins read theirs and set its MFA requirement.

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
pub enum TenantStatus {
    Active,
    /// No new tokens or refreshes; issued access tokens lapse within their lifetime.
    Suspended,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    /// The company ID staff type at sign-in.
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    pub is_platform: bool,
    pub mfa_required: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What token issuance and grants need to know of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantInfo {
    pub active: bool,
    pub is_platform: bool,
    pub mfa_required: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Optional fixed id (imports); generated otherwise.
    pub id: Option<Uuid>,
    /// The company ID staff type when they sign in.
    #[schema(min_length = 2, max_length = 63, pattern = "^[a-z0-9][a-z0-9-]*$")]
    pub slug: String,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(default)]
    pub mfa_required: bool,
}

impl NewTenant {
    pub fn normalized(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        if !valid_slug(&self.slug) {
            errors.add(
                "slug",
                "must be 2 to 63 characters of a-z, 0-9 and -, not starting with -",
            );
        }
        errors.text("name", &self.name, super::user::NAME_MAX);
        self.name = self.name.trim().to_owned();
        errors.finish().map(|()| self)
    }
}

/// What a tenant's admins may change of their tenant (a merge patch applies to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    pub mfa_required: bool,
}

impl From<&Tenant> for TenantSettings {
    fn from(t: &Tenant) -> Self {
        Self {
            name: t.name.clone(),
            mfa_required: t.mfa_required,
        }
    }
}

impl TenantSettings {
    pub fn normalized(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.text("name", &self.name, super::user::NAME_MAX);
        self.name = self.name.trim().to_owned();
        errors.finish().map(|()| self)
    }
}

fn valid_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["ab", "acme-it", "a1"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["a", "-ab", "Acme", "ä-it", &"a".repeat(64)] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }
}
