//! The notify module's HTTP handlers, one file per resource.

pub mod channels;
pub mod dead_letters;
pub mod preferences;
pub mod rules;
pub mod webhooks;
