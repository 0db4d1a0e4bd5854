//! Users: staff of a tenant, their roles, password and second factor.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Cannot sign in; issued access tokens lapse within their lifetime.
    Suspended,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub status: UserStatus,
    pub roles: Vec<String>,
    /// Whether sign-in asks for a second factor (TOTP or a recovery code).
    pub mfa_enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const NAME_MAX: usize = 200;
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 256;

/// A password as typed (not trimmed: spaces count), 12 to 256 characters.
/// At most this many roles per user.
pub const ROLES_MAX: usize = 50;

/// The role names a user holds (each one the tenant has, 422 otherwise).
pub fn role_names() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(super::role::NAME_PATTERN)),
        )
        .max_items(Some(ROLES_MAX))
}

/// Role names are checked against the tenant's roles later; here, their number.
fn check_roles(errors: &mut FieldErrors, roles: &[String]) {
    if roles.len() > ROLES_MAX {
        errors.add("roles", format!("at most {ROLES_MAX} roles"));
    }
}

pub fn check_password(errors: &mut FieldErrors, field: &str, password: &str) {
    errors.length(field, password, PASSWORD_MIN, PASSWORD_MAX);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Compared and stored in lower case.
    #[schema(schema_with = formats::email)]
    pub email: String,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = role_names)]
    pub roles: Vec<String>,
    /// Optional initial password.
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

impl NewUser {
    /// Checks every field as given (the document's patterns), then trims
    /// the name and lower-cases the e-mail.
    pub fn normalized(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.email("email", Some(&self.email));
        errors.text("name", &self.name, NAME_MAX);
        check_roles(&mut errors, &self.roles);
        if let Some(pw) = &self.password {
            check_password(&mut errors, "password", pw);
        }
        self.email = self.email.to_lowercase();
        self.name = self.name.trim().to_owned();
        errors.finish().map(|()| self)
    }
}

/// What a merge patch may change on a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    pub status: UserStatus,
    #[schema(schema_with = role_names)]
    pub roles: Vec<String>,
}

impl From<&User> for UserInput {
    fn from(u: &User) -> Self {
        Self {
            name: u.name.clone(),
            status: u.status,
            roles: u.roles.clone(),
        }
    }
}

impl UserInput {
    pub fn normalized(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.text("name", &self.name, NAME_MAX);
        check_roles(&mut errors, &self.roles);
        self.name = self.name.trim().to_owned();
        errors.finish().map(|()| self)
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_user_reports_every_bad_field_and_counts_characters() {
        let bad = NewUser {
            email: "no-at".into(),
            name: "  ".into(),
            roles: vec![],
            password: Some("short".into()),
        };
        let fields: Vec<String> = bad
            .normalized()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "name", "password"]);

        let ok = NewUser {
            email: "Dana@Acme.Example".into(),
            // 200 characters, 400 bytes.
            name: "ä".repeat(200),
            roles: vec![],
            // 12 characters, more bytes.
            password: Some("pässwörd-ünï".into()),
        }
        .normalized()
        .unwrap();
        assert_eq!(ok.email, "dana@acme.example");
    }
}
