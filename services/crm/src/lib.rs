//! CRM module: customers, contacts, sites and contracts.
//!
//! Mounted by the `psa` command (alone or with every other module) or served
//! by its own thin binary `psa-crm`. The router carries no cross-cutting
//! layers; whoever serves it applies them once.

pub mod domain;
pub mod error;
pub mod events;
pub mod repo;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use psa_authn::Verifier;
use psa_db::{DatabaseConfig, DbError, ModuleDb};
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use state::CrmState;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/crm");

/// The CRM's schema, role and migrations.
pub const DB: ModuleDb = ModuleDb {
    module: "crm",
    schema: "crm",
    role: "psa_crm",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::IdempotencyKeys,
        psa_db::PlatformPart::NumberSequences,
    ],
};

/// The CRM's permissions, for the auth module's catalogue.
pub const PERMISSIONS: &[&str] = &[
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
];

/// Every CRM route with its OpenAPI description.
pub fn routes() -> OpenApiRouter<CrmState> {
    use routes::{contacts, contracts, customers, sites};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(customers::list_customers, customers::create_customer))
        .routes(r!(
            customers::get_customer,
            customers::patch_customer,
            customers::delete_customer
        ))
        .routes(r!(contacts::customer_contacts))
        .routes(r!(sites::customer_sites))
        .routes(r!(contracts::customer_contracts))
        .routes(r!(contacts::list_contacts, contacts::create_contact))
        .routes(r!(
            contacts::get_contact,
            contacts::patch_contact,
            contacts::delete_contact
        ))
        .routes(r!(sites::list_sites, sites::create_site))
        .routes(r!(sites::get_site, sites::patch_site, sites::delete_site))
        .routes(r!(contracts::list_contracts, contracts::create_contract))
        .routes(r!(
            contracts::get_contract,
            contracts::patch_contract,
            contracts::delete_contract
        ))
}

pub fn router(state: CrmState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn build_state(db: &DatabaseConfig, verifier: Arc<Verifier>) -> Result<CrmState, DbError> {
    Ok(CrmState {
        store: psa_kernel::Store::new(psa_db::module_pool(db, &DB)?, DB.schema),
        verifier,
        relay: None,
    })
}

/// The relay that publishes the CRM's outbox.
pub fn relay(
    pool: sqlx::PgPool,
    bus: Arc<psa_events::Bus>,
    batch: i64,
) -> psa_events::outbox::Relay {
    psa_events::outbox::Relay {
        pool,
        schema: "crm",
        source: "psa/crm".into(),
        bus,
        batch,
        crash_after_ack: Default::default(),
    }
}

/// The CRM as the platform runs it.
pub fn module() -> Module {
    Module {
        name: "crm",
        db: DB,
        permissions: PERMISSIONS,
        mount: |ctx| {
            let mut state = build_state(&ctx.config.database, ctx.verifier.clone())?;
            let ev = &ctx.config.events;
            if ev.enabled {
                let bus = Arc::new(psa_events::Bus::new(ev.bus()));
                let task = tokio::spawn(relay(state.pool.clone(), bus, ev.relay_batch).run());
                state.relay = Some(Arc::new(psa_events::TaskGuard(task)));
            }
            let housekeeping = Arc::new(psa_db::housekeeping(state.pool.clone(), "crm"));
            Ok(Mounted {
                checks: vec![ReadinessCheck::postgres("crm.postgres", state.pool.clone())],
                router: router(state).layer(axum::Extension(housekeeping)),
            })
        },
        openapi,
    }
}
