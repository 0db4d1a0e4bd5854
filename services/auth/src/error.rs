//! The auth module's errors, mapped to problem+json (with a stable `code`)
//! in one place. OAuth endpoint errors also carry RFC 6749's `error` and
//! `error_description`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no such resource")]
    NotFound,
    #[error("the request body has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("a user with this e-mail address exists")]
    EmailTaken,
    #[error("a role with this name exists")]
    RoleNameTaken,
    #[error("{0} is a built-in role")]
    BuiltinRole(String),
    #[error("{0} user(s) still have this role")]
    RoleInUse(i64),
    #[error("a tenant with this id or slug exists")]
    TenantTaken,
    #[error("this tenant is not registered with the platform; an operator creates it first")]
    TenantNotRegistered,
    #[error("tenant {0} exists and is not the platform tenant")]
    NotPlatformTenant(String),
    #[error("the operator's own tenant cannot be suspended")]
    OwnTenant,
    #[error("two-factor sign-in is already on; an administrator can reset it")]
    MfaEnabled,
    #[error("no two-factor enrolment is pending")]
    NoMfaEnrolment,
    #[error("only platform operators manage tenants")]
    PlatformOnly,
    #[error("only users (not service accounts or API keys) have this")]
    UsersOnly,
    #[error("{0}")]
    Forbidden(String),
    /// An OAuth error: (status, RFC 6749 code, description).
    #[error("oauth {1}: {2}")]
    OAuth(StatusCode, &'static str, String),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl AuthError {
    pub fn invalid(field: &str, message: &str) -> Self {
        AuthError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn oauth(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        AuthError::OAuth(status, code, description.into())
    }

    /// The stable `code` of a conflict or refusal this module names itself.
    fn code(&self) -> &'static str {
        match self {
            AuthError::EmailTaken => "email_taken",
            AuthError::RoleNameTaken => "role_name_taken",
            AuthError::BuiltinRole(_) => "builtin_role",
            AuthError::RoleInUse(_) => "role_in_use",
            AuthError::TenantTaken => "tenant_taken",
            AuthError::TenantNotRegistered => "tenant_not_registered",
            AuthError::NotPlatformTenant(_) => "not_platform_tenant",
            AuthError::OwnTenant => "own_tenant",
            AuthError::MfaEnabled => "mfa_already_enabled",
            AuthError::NoMfaEnrolment => "no_mfa_enrolment",
            AuthError::PlatformOnly => "platform_only",
            AuthError::UsersOnly => "users_only",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::OAuth(_, code, _) => code,
            AuthError::NotFound => "not_found",
            AuthError::Validation(_) => "validation_failed",
            AuthError::Problem(p) => p.code,
            AuthError::Db(_) | AuthError::Internal(_) => "internal_error",
        }
    }
}

/// A unique constraint the database refused is the conflict it stands for.
impl From<sqlx::Error> for AuthError {
    fn from(err: sqlx::Error) -> Self {
        match psa_db::constraint(&err) {
            Some("users_email_unique") => AuthError::EmailTaken,
            Some("roles_name_unique") => AuthError::RoleNameTaken,
            Some("tenants_pkey" | "tenants_slug_key") => AuthError::TenantTaken,
            _ => AuthError::Db(err),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        let code = err.code();
        let detail = err.to_string();
        match err {
            AuthError::NotFound => Problem::not_found(),
            AuthError::Validation(errors) => Problem::validation(errors),
            AuthError::EmailTaken
            | AuthError::RoleNameTaken
            | AuthError::BuiltinRole(_)
            | AuthError::RoleInUse(_)
            | AuthError::TenantTaken
            | AuthError::TenantNotRegistered
            | AuthError::NotPlatformTenant(_)
            | AuthError::OwnTenant
            | AuthError::MfaEnabled
            | AuthError::NoMfaEnrolment => Problem::conflict(detail).with_code(code),
            AuthError::PlatformOnly | AuthError::UsersOnly | AuthError::Forbidden(_) => {
                Problem::forbidden(detail).with_code(code)
            }
            AuthError::OAuth(status, code, description) => {
                let mut p = Problem::new(status)
                    .with_code(code)
                    .with_detail(description.clone())
                    .with_extension("error", code)
                    .with_extension("error_description", description);
                if status == StatusCode::UNAUTHORIZED {
                    p = p.with_header(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"psa\""),
                    );
                }
                p
            }
            AuthError::Problem(p) => p,
            AuthError::Db(e) => Problem::from(e),
            AuthError::Internal(message) => Problem::internal(&Internal(message)),
        }
    }
}

/// An internal error's message, for the one log line `Problem::internal` writes.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Internal(String);

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_code() {
        let cases = [
            (AuthError::EmailTaken, 409, "email_taken"),
            (AuthError::RoleInUse(2), 409, "role_in_use"),
            (AuthError::PlatformOnly, 403, "platform_only"),
            (
                AuthError::oauth("invalid_client", "x"),
                401,
                "invalid_client",
            ),
            (AuthError::oauth("invalid_grant", "x"), 400, "invalid_grant"),
            (AuthError::NotFound, 404, "not_found"),
        ];
        for (err, status, code) in cases {
            let p = Problem::from(err);
            assert_eq!((p.status.as_u16(), p.code), (status, code));
        }
    }
}
