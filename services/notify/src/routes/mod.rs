//! The notify module's HTTP handlers, one file per resource.

pub mod dead_letters;
pub mod webhooks;
