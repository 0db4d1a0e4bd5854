//! Ticket types and rules. No SQL, no HTTP.

pub mod sla;
pub mod ticket;
