//! The assets module's errors, each with a stable `code`, mapped to
//! problem+json in one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// A field names a customer, site, contact, asset or type the tenant
    /// does not have (422 with the field).
    #[error("{0}: no such {1}")]
    Unknown(&'static str, &'static str),
    #[error("the asset cannot be its own ancestor")]
    ParentCycle,
    #[error("another asset of this manufacturer has serial number {0}")]
    SerialTaken(String),
    #[error("asset type {0} already exists")]
    TypeKeyTaken(String),
    #[error("{0} asset(s) have this type")]
    TypeInUse(i64),
    #[error("the key of an asset type cannot change")]
    TypeKeyFixed,
    #[error("all {0} seats are assigned")]
    SeatsExhausted(i32),
    #[error("{0} seats are assigned; remove assignments first")]
    SeatsInUse(i64),
    #[error("already assigned to this license")]
    AlreadyAssigned,
    #[error("the asset has {0} child asset(s); move or delete them first")]
    HasChildren(i64),
    #[error("the license has no key")]
    NoKey,
    #[error("{0:?}")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<AssetsError> for Problem {
    fn from(err: AssetsError) -> Self {
        let detail = err.to_string();
        match err {
            AssetsError::Unknown(field, _) => {
                Problem::validation(vec![FieldError::with_code(field, "not_found", detail)])
            }
            AssetsError::ParentCycle => {
                Problem::validation(vec![FieldError::with_code("parent_id", "cycle", detail)])
            }
            AssetsError::TypeKeyFixed => {
                Problem::validation(vec![FieldError::with_code("key", "immutable", detail)])
            }
            AssetsError::Validation(errors) => Problem::validation(errors),
            AssetsError::SerialTaken(_) => {
                Problem::conflict(detail).with_code("serial_number_taken")
            }
            AssetsError::TypeKeyTaken(_) => Problem::conflict(detail).with_code("asset_type_taken"),
            AssetsError::TypeInUse(_) => Problem::conflict(detail).with_code("asset_type_in_use"),
            AssetsError::SeatsExhausted(_) => {
                Problem::conflict(detail).with_code("seats_exhausted")
            }
            AssetsError::SeatsInUse(_) => Problem::conflict(detail).with_code("seats_in_use"),
            AssetsError::AlreadyAssigned => Problem::conflict(detail).with_code("already_assigned"),
            AssetsError::HasChildren(_) => {
                Problem::conflict(detail).with_code("asset_has_children")
            }
            AssetsError::NoKey => Problem::not_found().with_detail(detail),
            AssetsError::Problem(p) => p,
            AssetsError::Db(e) => Problem::from(e),
        }
    }
}

impl IntoResponse for AssetsError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
