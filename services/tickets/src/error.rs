//! The ticketing module's errors, each with a stable `code`, mapped to
//! problem+json in one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

use crate::domain::ticket::IllegalTransition;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow does not allow this status change (409 `illegal_transition`).
    #[error("{0}")]
    IllegalTransition(IllegalTransition),
    /// A billed time entry is frozen (409 `time_entry_billed`).
    #[error("the time entry is billed and can no longer change")]
    TimeEntryBilled,
    /// The ticket names a customer the projection does not know (422 `unknown_customer`).
    #[error("no such customer")]
    UnknownCustomer,
    /// The ticket names an asset that is not the customer's (or unknown;
    /// 422 `not_found` on `asset_id`).
    #[error("no such asset of the ticket's customer")]
    UnknownAsset,
    /// Fields that do not fit, every one named (422 `validation_failed`).
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<IllegalTransition> for Error {
    fn from(e: IllegalTransition) -> Self {
        Error::IllegalTransition(e)
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::IllegalTransition(e) => Problem::conflict(e.to_string())
                .with_code("illegal_transition")
                .with_extension(
                    "allowed",
                    e.from
                        .allowed_next()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>(),
                ),
            Error::TimeEntryBilled => {
                Problem::conflict(err.to_string()).with_code("time_entry_billed")
            }
            Error::UnknownCustomer => Problem::unknown_customer("customer_id"),
            Error::UnknownAsset => Problem::validation(vec![FieldError::with_code(
                "asset_id",
                "not_found",
                err.to_string(),
            )]),
            Error::Validation(errors) => Problem::validation(errors),
            Error::Problem(p) => p,
            Error::Db(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
