//! The CRM's background work: the outbox relay (when events are on) and the
//! schema's housekeeping.

use std::sync::Arc;

use psa_events::Bus;
use psa_events::outbox::Relay;
use psa_runtime::Workers;
use psa_runtime::config::EventsConfig;
use sqlx::PgPool;

/// The relay that publishes the CRM's outbox.
pub fn relay(pool: PgPool, bus: Arc<Bus>, events: &EventsConfig) -> Relay {
    events.relay(pool, crate::DB.schema, "crm", bus)
}

pub fn start(pool: &PgPool, events: &EventsConfig) -> Workers {
    let mut workers = Workers::new("crm");
    if events.enabled {
        let bus = Arc::new(Bus::new(events.bus()));
        workers.relay(relay(pool.clone(), bus, events));
    }
    workers.housekeeping(pool.clone(), "crm");
    workers
}
