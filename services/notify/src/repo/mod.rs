//! SQL of the notify schema, one file per resource: functions over an
//! executor (the handler's or worker's tenant transaction).

pub mod deliveries;
pub mod webhooks;
