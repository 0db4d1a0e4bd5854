//! The HTTP handlers, one file per resource. Each reads top to bottom as
//! the request happens: permission and tenant transaction, idempotency
//! guard, validation, repo call, outbox record, stored response, commit.
//!
//! None of tickets' resources is a plain record for the kernel's generic
//! CRUD (`psa_kernel::Resource`): opening a ticket numbers it and takes its
//! due times from the customer's contract, for a customer a patch cannot
//! change, while a patch follows the workflow and moves the clocks; comments
//! and time entries are made under a ticket, by the caller. So the handlers
//! are written out, each from the kernel's pieces.

pub mod comments;
pub mod settings;
pub mod tickets;
pub mod time_entries;
