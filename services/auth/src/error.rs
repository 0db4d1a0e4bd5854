//! The auth module's errors, mapped to problem+json in one place. OAuth
//! endpoint errors also carry RFC 6749's `error` and `error_description`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An OAuth error: (status, RFC 6749 code, description).
    #[error("oauth {1}: {2}")]
    OAuth(StatusCode, &'static str, String),
    #[error("too many attempts; retry after {0} s")]
    Throttled(u64),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
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
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::NotFound => Problem::not_found(),
            AuthError::Validation(errors) => Problem::validation(errors),
            AuthError::Conflict(d) => Problem::conflict(d),
            AuthError::Forbidden(d) => Problem::forbidden(d),
            AuthError::OAuth(status, code, description) => {
                let mut p = Problem::new(status)
                    .with_detail(description.clone())
                    .with_extension("error", code)
                    .with_extension("error_description", description);
                if status == StatusCode::UNAUTHORIZED {
                    p = p.with_header(
                        axum::http::header::WWW_AUTHENTICATE,
                        axum::http::HeaderValue::from_static("Basic realm=\"psa\""),
                    );
                }
                p
            }
            AuthError::Throttled(secs) => Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .with_detail("too many failed attempts; try again later")
                .with_header(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(secs),
                ),
            AuthError::Problem(p) => p,
            AuthError::Db(e) => Problem::from(e),
            AuthError::Internal(msg) => Problem::internal(&AuthError::Internal(msg)),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
