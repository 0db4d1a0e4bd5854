//! Roles: the built-in ones every tenant has and a tenant's own.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use psa_kernel::docs::PERMISSIONS_MAX;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A role. Built-in roles have no id, version or times: they are the
/// platform's, the same in every tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Role {
    pub id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub builtin: bool,
    pub version: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A tenant's own role as stored.
#[derive(Debug, Clone)]
pub struct CustomRole {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CustomRole> for Role {
    fn from(r: CustomRole) -> Self {
        Role {
            id: Some(r.id),
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            builtin: false,
            version: Some(r.version),
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
        }
    }
}

pub const NAME_MAX: usize = 64;
/// What a role's name is made of (checked in [`RoleInput::normalized`]).
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
pub const DESCRIPTION_MAX: usize = 1000;

/// A grant lists at most [`PERMISSIONS_MAX`] permissions (which ones it
/// may hold is checked against the registry and the caller).
pub fn check_permissions(errors: &mut FieldErrors, permissions: &[String]) {
    if permissions.len() > PERMISSIONS_MAX {
        errors.add(
            "permissions",
            format!("at most {PERMISSIONS_MAX} permissions"),
        );
    }
}

/// What POST and PUT take, and what a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// `null` in a merge patch clears it.
    #[schema(schema_with = formats::opt_prose::<1000>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Each registered by a module and held by the caller (403 otherwise).
    #[schema(schema_with = psa_kernel::docs::permissions)]
    pub permissions: Vec<String>,
}

impl From<&CustomRole> for RoleInput {
    fn from(r: &CustomRole) -> Self {
        Self {
            name: r.name.clone(),
            description: r.description.clone(),
            permissions: r.permissions.clone(),
        }
    }
}

impl RoleInput {
    /// Checks the fields as given: the name as the document's pattern has it.
    pub fn normalized(self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let name_ok = (1..=NAME_MAX).contains(&self.name.chars().count())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            errors.add(
                "name",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
            );
        }
        errors.opt_prose("description", self.description.as_deref(), DESCRIPTION_MAX);
        check_permissions(&mut errors, &self.permissions);
        errors.finish().map(|()| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, description: Option<String>) -> RoleInput {
        RoleInput {
            name: name.into(),
            description,
            permissions: vec![],
        }
    }

    #[test]
    fn names_and_descriptions() {
        assert!(input("ops-team_2", None).normalized().is_ok());
        assert!(input(" ops ", None).normalized().is_err(), "as given");
        let errors = input("no spaces", Some("x".repeat(1001)))
            .normalized()
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "description"]);
        assert!(input("ops", Some("é".repeat(1000))).normalized().is_ok());
    }
}
