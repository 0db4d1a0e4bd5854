//! API gateway: the one front door. Routes `/v1` (and the OIDC paths) to the
//! modules, in-process or over HTTP, by the prefixes each module declares in
//! the platform's registry; authenticates at the edge (JWTs, and API keys
//! exchanged for short-lived JWTs); rate-limits per key, user or client
//! within each tenant, under a per-tenant ceiling, with GCRA in Redis; logs
//! every write to its audit log; serves the merged OpenAPI
//! document, docs, health, readiness per upstream and metrics.
//!
//! As a module (mounted beside others, without the front door) it is just
//! its audit-log API; in front of the modules it is served by [`app`].

pub mod domain;
pub mod edge;
pub mod graphql;
pub mod proxy;
pub mod ratelimit;
pub mod repo;
pub mod routes;
pub mod state;
pub mod workers;

use std::time::Duration;

use psa_authn::permissions::AUDIT_READ;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted, Workers};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;

pub use edge::app;
pub use state::GatewayState;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/gateway");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "gateway",
    schema: "gateway",
    role: "psa_gateway",
    migrator: &MIGRATOR,
    // Its audit log needs only the base: current_tenant() and isolate_by_tenant(…).
    platform: &[],
};

/// The gateway's own API: its audit log.
pub const ROUTES: &[&str] = &["/v1/audit-log"];

pub fn openapi() -> OpenApi {
    routes::routes().split_for_parts().1
}

/// The gateway as a module: its migrations, its OpenAPI part and its routes.
pub fn module() -> Module {
    Module {
        name: "gateway",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: &[AUDIT_READ],
        publishes: &[],
        consumes: &[],
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            // Ends (after a last flush) when the router and its senders go.
            let (audit, _flushed) =
                workers::audit_writer(pool.clone(), 1, Duration::from_millis(200));
            let state = GatewayState::new(pool.clone(), ctx, audit)?;
            Ok(Mounted {
                router: routes::router(state),
                checks: vec![ReadinessCheck::postgres("gateway.postgres", pool)],
                workers: Workers::new("gateway"),
            })
        },
        openapi,
    }
}
