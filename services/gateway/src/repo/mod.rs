//! The gateway's SQL.

pub mod audit_log;
