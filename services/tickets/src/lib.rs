//! Ticketing: tickets with their workflow and SLA clocks, comments and time
//! entries; a local projection of CRM customers and contracts (so tickets
//! can be opened while CRM is down); events through the outbox.

pub mod domain;
pub mod error;
pub mod events;
pub mod repo;
pub mod routes;
pub mod state;
pub mod workers;

use axum::Router;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted, Permission};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use state::TicketsState;
pub use workers::{CONSUMES, PROJECTION_QUEUE};

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

pub const TICKETS_READ: Permission =
    Permission::new("tickets:read", "read tickets and their comments");
pub const TICKETS_WRITE: Permission =
    Permission::new("tickets:write", "open, change and comment on tickets");
pub const TIME_WRITE: Permission = Permission::new("time:write", "log time on tickets");

pub const PERMISSIONS: &[Permission] = &[TICKETS_READ, TICKETS_WRITE, TIME_WRITE];

/// The path prefixes the gateway routes to tickets.
pub const ROUTES: &[&str] = &["/v1/tickets", "/v1/ticket-comments", "/v1/time-entries"];

pub fn routes() -> OpenApiRouter<TicketsState> {
    use routes::{comments, settings, tickets, time_entries as time};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(tickets::list_tickets, tickets::create_ticket))
        .routes(r!(settings::get_settings, settings::patch_settings))
        .routes(r!(tickets::get_ticket, tickets::patch_ticket))
        .routes(r!(comments::list_comments, comments::add_comment))
        .routes(r!(comments::list_ticket_comments))
        .routes(r!(time::ticket_time_entries, time::log_time))
        .routes(r!(time::list_time_entries))
        .routes(r!(
            time::get_time_entry,
            time::patch_time_entry,
            time::delete_time_entry
        ))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn module() -> Module {
    Module {
        name: "tickets",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: CONSUMES,
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let state = TicketsState {
                store: psa_kernel::Store::new(pool.clone(), DB.schema),
                verifier: ctx.verifier.clone(),
            };
            let router: Router = routes().split_for_parts().0.with_state(state);
            Ok(Mounted {
                router,
                checks: vec![ReadinessCheck::postgres("tickets.postgres", pool.clone())],
                workers: workers::start(&pool, &ctx.config.events),
            })
        },
        openapi,
    }
}
