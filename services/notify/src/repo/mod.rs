//! SQL of the notify schema, one file per resource: functions over an
//! executor (the handler's or worker's tenant transaction).

pub mod channels;
pub mod deliveries;
pub mod messages;
pub mod preferences;
pub mod projection;
pub mod rules;
pub mod webhooks;
