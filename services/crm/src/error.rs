//! The CRM's errors, each with a stable `code`, mapped to problem+json in
//! one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// A contact, site or contract names a customer the tenant does not have.
    #[error("no such customer")]
    UnknownCustomer,
    /// A merge patch set `customer_number` to null; every customer has one.
    #[error("a customer number cannot be removed")]
    CustomerNumberRequired,
    #[error("customer number {0} is already taken")]
    CustomerNumberTaken(String),
    #[error("the customer still has {0} contract(s); end and delete them first")]
    CustomerHasContracts(i64),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<CrmError> for Problem {
    fn from(err: CrmError) -> Self {
        let detail = err.to_string();
        match err {
            CrmError::UnknownCustomer => Problem::validation(vec![FieldError::with_code(
                "customer_id",
                "not_found",
                detail,
            )]),
            CrmError::CustomerNumberRequired => Problem::validation(vec![FieldError::with_code(
                "customer_number",
                "required",
                detail,
            )]),
            CrmError::CustomerNumberTaken(_) => {
                Problem::conflict(detail).with_code("customer_number_taken")
            }
            CrmError::CustomerHasContracts(_) => {
                Problem::conflict(detail).with_code("customer_has_contracts")
            }
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
