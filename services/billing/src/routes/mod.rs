//! The HTTP handlers, one file per resource. Each reads top to bottom as
//! the request happens: permission and tenant transaction, idempotency
//! guard, validation, repo call, outbox record, stored response, commit.
//!
//! None of billing's resources is a plain record for the kernel's generic
//! CRUD: drafts are made from lines and totals, released documents never
//! change, items move through approval, the settings are one per tenant.

pub mod balance;
pub mod exports;
pub mod files;
pub mod invoices;
pub mod items;
pub mod lines;
pub mod release;
pub mod runs;
pub mod settings;
