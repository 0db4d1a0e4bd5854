//! The CRM's errors, mapped to problem+json in one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl CrmError {
    pub fn invalid(field: &str, message: &str) -> Self {
        CrmError::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<CrmError> for Problem {
    fn from(err: CrmError) -> Self {
        match err {
            CrmError::NotFound => Problem::not_found(),
            CrmError::Validation(errors) => Problem::validation(errors),
            CrmError::Conflict(detail) => Problem::conflict(detail),
            CrmError::Problem(p) => p,
            CrmError::Db(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
