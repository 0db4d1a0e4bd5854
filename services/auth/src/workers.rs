//! Auth's background work: the schema's housekeeping (expired idempotency
//! keys, authorization codes and refresh tokens). Auth publishes no events,
//! so it runs no outbox relay.

use psa_runtime::Workers;
use sqlx::PgPool;

pub fn start(pool: &PgPool) -> Workers {
    let mut workers = Workers::new("auth");
    workers.housekeeping(pool.clone(), "auth");
    workers
}
