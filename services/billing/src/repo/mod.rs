//! Billing's SQL, one file per table group.

pub mod balance;
pub mod charges;
pub mod documents;
pub mod exports;
pub mod invoices;
pub mod items;
pub mod projection;
pub mod runs;
pub mod settings;
