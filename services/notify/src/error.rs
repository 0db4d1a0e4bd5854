//! The notify module's errors, each with a stable `code`, mapped to
//! problem+json in one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};
use psa_outbound::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The URL a tenant set is refused by the SSRF guard (422 on `url`,
    /// with the guard's code).
    #[error("{0}")]
    Url(Refusal),
    #[error("the delivery is not a dead letter (it is pending or was delivered)")]
    NotDead,
    #[error("the webhook is disabled; enable it first")]
    Disabled,
    #[error("{0:?}")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<NotifyError> for Problem {
    fn from(err: NotifyError) -> Self {
        let detail = err.to_string();
        match err {
            NotifyError::Url(r) => {
                Problem::validation(vec![FieldError::with_code("url", r.code(), detail)])
            }
            NotifyError::NotDead => Problem::conflict(detail).with_code("not_a_dead_letter"),
            NotifyError::Disabled => Problem::conflict(detail).with_code("webhook_disabled"),
            NotifyError::Validation(errors) => Problem::validation(errors),
            NotifyError::Problem(p) => p,
            NotifyError::Db(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for NotifyError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
