//! Auth's background work: the schema's housekeeping (expired idempotency
//! keys, authorization codes and refresh tokens) and, when events are on,
//! the outbox relay of its users' events.

use psa_runtime::Workers;
use psa_runtime::config::EventsConfig;
use sqlx::PgPool;

pub fn start(pool: &PgPool, events: &EventsConfig) -> Workers {
    let mut workers = Workers::new("auth");
    workers.housekeeping(pool.clone(), "auth");
    workers.events(events, pool, crate::DB.schema, None);
    workers
}
