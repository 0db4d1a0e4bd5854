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
pub mod workers;

use std::sync::Arc;

use axum::Router;
use psa_authn::Verifier;
use psa_db::{DatabaseConfig, DbError, ModuleDb};
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted, Permission};
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

pub const CUSTOMERS_READ: Permission =
    Permission::new("customers:read", "read customers, contacts and sites");
pub const CUSTOMERS_WRITE: Permission = Permission::new(
    "customers:write",
    "create, change and delete customers, contacts and sites",
);
pub const CONTRACTS_READ: Permission = Permission::new("contracts:read", "read contracts");
pub const CONTRACTS_WRITE: Permission =
    Permission::new("contracts:write", "create, change and delete contracts");

/// The CRM's permissions, for the platform's catalogue.
pub const PERMISSIONS: &[Permission] = &[
    CUSTOMERS_READ,
    CUSTOMERS_WRITE,
    CONTRACTS_READ,
    CONTRACTS_WRITE,
];

/// The path prefixes the gateway routes to the CRM.
pub const ROUTES: &[&str] = &[
    "/v1/customers",
    "/v1/contacts",
    "/v1/sites",
    "/v1/contracts",
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
    })
}

pub use workers::relay;

/// The CRM as the platform runs it.
pub fn module() -> Module {
    Module {
        name: "crm",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: &[],
        mount: |ctx| {
            let state = build_state(&ctx.config.database, ctx.verifier.clone())?;
            Ok(Mounted {
                checks: vec![ReadinessCheck::postgres(
                    "crm.postgres",
                    state.store.pool.clone(),
                )],
                workers: workers::start(&state.store.pool, &ctx.config.events),
                router: router(state),
            })
        },
        openapi,
    }
}
