//! The module's SQL, one file per resource: functions over a connection
//! (handlers pass their tenant transaction).

pub mod comments;
pub mod projection;
pub mod settings;
pub mod tickets;
pub mod time_entries;
