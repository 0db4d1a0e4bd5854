//! The notify module's errors, each with a stable `code`, mapped to
//! problem+json in one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};
use psa_outbound::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A destination a tenant set (the field named) is refused by the SSRF
    /// guard (422 on the field, with the guard's code).
    #[error("{1}")]
    Url(&'static str, Refusal),
    #[error("the delivery is not a dead letter (it is pending or was delivered)")]
    NotDead,
    #[error("the webhook is disabled; enable it first")]
    Disabled,
    #[error("{0} notification rule(s) send through this channel; change or delete them first")]
    ChannelInUse(i64),
    #[error("only a user's own token has notification preferences")]
    UsersOnly,
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
            NotifyError::Url(field, r) => {
                Problem::validation(vec![FieldError::with_code(field, r.code(), detail)])
            }
            NotifyError::NotDead => Problem::conflict(detail).with_code("not_a_dead_letter"),
            NotifyError::Disabled => Problem::conflict(detail).with_code("webhook_disabled"),
            NotifyError::ChannelInUse(_) => Problem::conflict(detail).with_code("channel_in_use"),
            NotifyError::UsersOnly => Problem::forbidden(detail).with_code("users_only"),
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
