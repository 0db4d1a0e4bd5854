//! Billing's errors, each with a stable `code`, mapped to problem+json in
//! one place.

use axum::response::{IntoResponse, Response};
use psa_http::{FieldError, Problem};
use uuid::Uuid;

use crate::domain::item::ItemStatus;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A released document never changes (409 `invoice_released`).
    #[error("the invoice is released and can no longer change; correct it with a credit note")]
    InvoiceReleased,
    /// Only released invoices are credited (409 `invoice_not_released`).
    #[error("only a released invoice can be credited")]
    NotReleased,
    /// A draft has no XML or PDF yet (409 `invoice_not_released`).
    #[error("a draft has no e-invoice yet: release it first")]
    Draft,
    /// Rendering a released document failed (500).
    #[error("rendering the document failed")]
    Render(#[source] crate::documents::pdf::PdfError),
    /// What keeps the DATEV export from being written (422 `export_invalid`).
    #[error("the DATEV export cannot be written")]
    Export(Vec<FieldError>),
    /// A credit note is not credited again (409 `not_an_invoice`).
    #[error("a credit note cannot be credited")]
    NotAnInvoice,
    /// A credit note's lines come from its invoice (409 `credit_note_lines`).
    #[error(
        "a credit note's lines credit its invoice's lines; remove one or write a new credit note"
    )]
    CreditNoteLines,
    /// The series would repeat a number (409 `number_taken`).
    #[error(
        "the number {0} exists already: the series' format repeats an earlier number; change the format"
    )]
    NumberTaken(String),
    /// What a credit note asks for is more than what remains (422 `credit_exceeds_remaining`).
    #[error("the credit note exceeds what remains uncredited")]
    CreditExceeds(Vec<FieldError>),
    /// What keeps a draft from release (422 `release_invalid`).
    #[error("the invoice cannot be released as it is")]
    ReleaseInvalid(Vec<FieldError>),
    /// An item is not in a state the action applies to (409 `item_state`).
    #[error("item {id} is {status}", status = .status.as_str())]
    ItemState { id: Uuid, status: ItemStatus },
    /// The draft names a customer billing does not know (422 `unknown_customer`).
    #[error("no such customer")]
    UnknownCustomer,
    /// Fields that do not fit, every one named (422 `validation_failed`).
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::InvoiceReleased => {
                Problem::conflict(err.to_string()).with_code("invoice_released")
            }
            Error::NotReleased => {
                Problem::conflict(err.to_string()).with_code("invoice_not_released")
            }
            Error::Draft => Problem::conflict(err.to_string()).with_code("invoice_not_released"),
            Error::Render(ref e) => Problem::internal(e),
            Error::Export(errors) => Problem::validation(errors).with_code("export_invalid"),
            Error::NotAnInvoice => Problem::conflict(err.to_string()).with_code("not_an_invoice"),
            Error::CreditNoteLines => {
                Problem::conflict(err.to_string()).with_code("credit_note_lines")
            }
            Error::NumberTaken(_) => Problem::conflict(err.to_string()).with_code("number_taken"),
            Error::CreditExceeds(errors) => {
                Problem::validation(errors).with_code("credit_exceeds_remaining")
            }
            Error::ReleaseInvalid(errors) => {
                Problem::validation(errors).with_code("release_invalid")
            }
            Error::ItemState { id, status } => Problem::conflict(err.to_string())
                .with_code("item_state")
                .with_extension("item_id", id.to_string())
                .with_extension("item_status", status.as_str()),
            Error::UnknownCustomer => Problem::unknown_customer("customer_id"),
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
