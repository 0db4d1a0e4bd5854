//! Ticketing: tickets with their workflow and SLA clocks, comments and time
//! entries; a local projection of CRM customers and contracts (so tickets
//! can be opened while CRM is down); events through the outbox.

pub mod domain;
pub mod routes;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use futures::FutureExt;
use psa_authn::{HasVerifier, Verifier};
use psa_events::outbox::{Consumer, Relay};
use psa_events::{Bus, TaskGuard};
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/tickets");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "tickets",
    schema: "tickets",
    role: "psa_tickets",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::Inbox,
        psa_db::PlatformPart::IdempotencyKeys,
        psa_db::PlatformPart::NumberSequences,
    ],
};

pub const PERMISSIONS: &[&str] = &["tickets:read", "tickets:write", "time:write"];

#[derive(Clone)]
pub struct TicketsState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    /// Background work (relay, CRM projection, SLA watch), ending with the app.
    pub workers: Arc<Vec<TaskGuard>>,
}

impl HasVerifier for TicketsState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}

pub fn routes() -> OpenApiRouter<TicketsState> {
    use routes::*;
    OpenApiRouter::new()
        .routes(r!(list_tickets, create_ticket))
        .routes(r!(get_ticket, patch_ticket))
        .routes(r!(list_comments, add_comment))
        .routes(r!(ticket_time, log_time))
        .routes(r!(list_time))
        .routes(r!(patch_time))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

/// The consumer that keeps the projection of CRM customers and contracts.
pub fn projection(bus: Arc<Bus>, pool: PgPool, queue: String) -> Consumer {
    Consumer {
        bus,
        pool,
        schema: "tickets",
        queue,
        handler: Arc::new(|event, conn| {
            async move { service::project(conn, &event.event_type, &event.data).await }.boxed()
        }),
    }
}

pub const PROJECTION_QUEUE: &str = "tickets.crm-projection";

pub fn module() -> Module {
    Module {
        name: "tickets",
        db: DB,
        permissions: PERMISSIONS,
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let mut workers = vec![psa_db::housekeeping(pool.clone(), "tickets")];
            let watch_pool = pool.clone();
            workers.push(TaskGuard(tokio::spawn(async move {
                loop {
                    if let Err(e) = service::watch_sla_once(&watch_pool, chrono::Utc::now()).await {
                        tracing::warn!(error = %e, "SLA watch failed");
                    }
                    tokio::time::sleep(Duration::from_secs(15)).await;
                }
            })));
            let ev = &ctx.config.events;
            if ev.enabled {
                let bus = Arc::new(Bus::new(ev.bus()));
                let relay = Relay {
                    pool: pool.clone(),
                    schema: "tickets",
                    source: "psa/tickets".into(),
                    bus: bus.clone(),
                    batch: ev.relay_batch,
                    crash_after_ack: Default::default(),
                };
                workers.push(TaskGuard(tokio::spawn(relay.run())));
                let consumer_pool = pool.clone();
                workers.push(TaskGuard(tokio::spawn(async move {
                    loop {
                        match bus.declare_queue(PROJECTION_QUEUE, &["customer.*", "contract.*"], 5).await {
                            Ok(queue) => {
                                let consumer = projection(bus.clone(), consumer_pool.clone(), queue);
                                if let Err(e) = consumer.run().await {
                                    tracing::warn!(error = %e, "CRM projection consumer stopped; restarting");
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot declare the projection queue yet"),
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                })));
            }
            let state = TicketsState {
                pool: pool.clone(),
                verifier: ctx.verifier.clone(),
                workers: Arc::new(workers),
            };
            let router: Router = routes().split_for_parts().0.with_state(state);
            Ok(Mounted {
                router,
                checks: vec![ReadinessCheck::postgres("tickets.postgres", pool)],
            })
        },
        openapi,
    }
}
