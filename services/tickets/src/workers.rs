//! Tickets' background work: the outbox relay and the consumer of CRM
//! customers and contracts and of billing's time-entry states (when events
//! are on), the SLA watch and the schema's housekeeping.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use psa_events::outbox::Handler;
use psa_kernel::{Store, Tx};
use psa_runtime::config::EventsConfig;
use psa_runtime::{Subscription, Workers};
use sqlx::PgPool;

use crate::events::{BreachKind, SlaBreached, TICKET_SLA_BREACHED};
use crate::repo;

/// The queue of the CRM projection, which also takes billing's states.
pub const PROJECTION_QUEUE: &str = "tickets.crm-projection";

/// What the projection binds: the CRM's customer and contract events, the
/// assets module's assets and end-of-life notices, and billing's states of
/// time entries (`billable_item.updated`).
pub const CONSUMES: &[&str] = &["customer.*", "contract.*", "asset.*", "billable_item.*"];

/// How often overdue tickets are looked for.
const SLA_WATCH_EVERY: Duration = Duration::from_secs(15);

/// Failed deliveries of one consumed event before it is dead-lettered.
const PROJECTION_DELIVERY_LIMIT: u32 = 5;

/// The consumer that keeps the projection of CRM customers and contracts
/// and applies billing's states to time entries ([`events::project`]), each
/// How the projection applies one event: as its publisher's type, in the
/// event's tenant.
pub fn handler() -> Handler {
    Arc::new(|event, conn| {
        async move { crate::events::project(conn, &event.event_type, &event.data).await }.boxed()
    })
}

/// Reports every SLA breach once: the conditional update is the guard.
pub async fn watch_sla_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let store = Store::new(pool.clone(), crate::DB.schema);
    let mut reported = 0;
    for (tenant, id) in repo::tickets::overdue(pool, now).await? {
        let mut tx = Tx::for_tenant(&store, tenant).await?;
        for kind in [BreachKind::Response, BreachKind::Resolution] {
            if repo::tickets::mark_breached(&mut tx, id, kind, now).await? {
                let ticket = repo::tickets::fetch(&mut tx, id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                tx.emit(&TICKET_SLA_BREACHED, id, &SlaBreached { kind, ticket })
                    .await?;
                reported += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(reported)
}

pub fn start(pool: &PgPool, events: &EventsConfig) -> Workers {
    let mut workers = Workers::new("tickets");
    workers.housekeeping(pool.clone(), "tickets");
    let watch_pool = pool.clone();
    workers.every("sla-watch", SLA_WATCH_EVERY, move || {
        let pool = watch_pool.clone();
        async move {
            if let Err(e) = watch_sla_once(&pool, Utc::now()).await {
                tracing::warn!(error = %e, "SLA watch failed");
            }
        }
    });
    workers.events(
        events,
        pool,
        crate::DB.schema,
        Some(Subscription {
            queue: PROJECTION_QUEUE,
            patterns: CONSUMES,
            delivery_limit: PROJECTION_DELIVERY_LIMIT,
            handler: handler(),
        }),
    );
    workers
}
