//! Assets: the configuration items an MSP manages for its customers (with
//! a per-tenant type catalogue and typed custom fields), licenses with
//! seats and sealed keys, the daily warranty, end-of-life and expiry watch,
//! an end-of-life snapshot of endoflife.date, and RMM inventory imports. A
//! projection of CRM customers, contacts and sites (so assets are recorded
//! while CRM is down); events through the outbox.

pub mod domain;
pub mod error;
pub mod events;
pub mod repo;
pub mod routes;
pub mod state;
pub mod workers;

use std::sync::Arc;

use axum::Router;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, Mounted, Permission};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use state::AssetsState;
pub use workers::PROJECTION_QUEUE;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/assets");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "assets",
    schema: "assets",
    role: "psa_assets",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::Inbox,
        psa_db::PlatformPart::IdempotencyKeys,
    ],
};

pub const ASSETS_READ: Permission = Permission::new(
    "assets:read",
    "read assets, asset types, licenses and their seats, the watch's settings",
);
pub const ASSETS_WRITE: Permission = Permission::new(
    "assets:write",
    "record, change and delete assets, asset types, licenses and seat assignments; set the watch",
);
pub const LICENSES_REVEAL: Permission = Permission::new(
    "licenses:reveal",
    "read license keys (every read is audited)",
);
pub const INVENTORY_WRITE: Permission = Permission::new(
    "inventory:write",
    "import RMM inventory records (for an RMM's service account)",
);

pub const PERMISSIONS: &[Permission] =
    &[ASSETS_READ, ASSETS_WRITE, LICENSES_REVEAL, INVENTORY_WRITE];

/// The path prefixes the gateway routes to the assets module.
pub const ROUTES: &[&str] = &[
    "/v1/assets",
    "/v1/asset-types",
    "/v1/licenses",
    "/v1/inventory",
    "/v1/eol-products",
    "/v1/eol-mappings",
];

/// Inventory imports one process runs at once (the others wait their turn).
const CONCURRENT_IMPORTS: usize = 2;

/// The purpose the license-key key is derived for.
const LICENSE_KEYS: &str = "assets: license keys";

pub fn routes() -> OpenApiRouter<AssetsState> {
    use routes::{asset_types as types, assets, eol, inventory, licenses, settings};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(assets::list_assets, assets::create_asset))
        .routes(r!(settings::get_settings, settings::patch_settings))
        .routes(r!(
            assets::get_asset,
            assets::patch_asset,
            assets::delete_asset
        ))
        .routes(r!(types::list_asset_types, types::create_asset_type))
        .routes(r!(
            types::get_asset_type,
            types::patch_asset_type,
            types::delete_asset_type
        ))
        .routes(r!(licenses::list_licenses, licenses::create_license))
        .routes(r!(
            licenses::get_license,
            licenses::patch_license,
            licenses::delete_license
        ))
        .routes(r!(licenses::reveal_key))
        .routes(r!(licenses::list_key_reveals))
        .routes(r!(licenses::list_assignments, licenses::assign_seat))
        .routes(r!(licenses::remove_assignment))
        .routes(r!(inventory::import_inventory))
        .routes(r!(eol::list_eol_products))
        .routes(r!(eol::list_eol_mappings, eol::create_eol_mapping))
        .routes(r!(eol::delete_eol_mapping))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn module() -> Module {
    Module {
        name: "assets",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: events::CONSUMES,
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let state = AssetsState {
                store: psa_kernel::Store::new(pool.clone(), DB.schema),
                verifier: ctx.verifier.clone(),
                keys: Arc::new(ctx.config.master_key()?.derive(LICENSE_KEYS)),
                imports: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_IMPORTS)),
            };
            let router: Router = routes().split_for_parts().0.with_state(state);
            Ok(Mounted {
                router,
                checks: vec![ReadinessCheck::postgres("assets.postgres", pool.clone())],
                workers: workers::start(&pool, &ctx.config.events),
            })
        },
        openapi,
    }
}
