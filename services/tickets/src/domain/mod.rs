//! Ticket types and rules. No SQL, no HTTP.

pub mod comment;
pub mod settings;
pub mod sla;
pub mod ticket;
pub mod time_entry;
