//! Billing: time and contracts to released invoices. A projection of CRM's
//! customers and contracts and of tickets' time entries (so runs work while
//! those modules are down), billable items and their approval, invoice
//! runs, drafts, release with gap-free numbers, immutable released
//! documents and credit notes; events through the outbox.

pub mod documents;
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

pub use state::BillingState;
pub use workers::PROJECTION_QUEUE;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/billing");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "billing",
    schema: "billing",
    role: "psa_billing",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::Inbox,
        psa_db::PlatformPart::IdempotencyKeys,
    ],
};

pub const INVOICES_READ: Permission = Permission::new(
    "invoices:read",
    "read invoices, credit notes, invoice runs, billable items and the seller's settings",
);
pub const INVOICES_WRITE: Permission = Permission::new(
    "invoices:write",
    "run invoice runs, edit and delete drafts, write credit notes, write off time, change the seller's settings",
);
pub const INVOICES_RELEASE: Permission = Permission::new(
    "invoices:release",
    "release invoices and credit notes (numbered and final)",
);
pub const TIME_APPROVE: Permission =
    Permission::new("time:approve", "approve billable time for invoicing");

pub const PERMISSIONS: &[Permission] = &[
    INVOICES_READ,
    INVOICES_WRITE,
    INVOICES_RELEASE,
    TIME_APPROVE,
];

/// The path prefixes the gateway routes to billing.
pub const ROUTES: &[&str] = &[
    "/v1/invoices",
    "/v1/credit-notes",
    "/v1/invoice-runs",
    "/v1/billing",
    "/v1/exports",
];

pub fn routes() -> OpenApiRouter<BillingState> {
    use routes::{balance, exports, files, invoices, items, lines, release, runs, settings};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(invoices::list_invoices, invoices::create_invoice))
        .routes(r!(
            invoices::get_invoice,
            invoices::patch_invoice,
            invoices::delete_invoice
        ))
        .routes(r!(lines::add_line))
        .routes(r!(lines::patch_line, lines::delete_line))
        .routes(r!(release::release_invoice))
        .routes(r!(release::create_credit_note))
        .routes(r!(runs::list_runs, runs::start_run))
        .routes(r!(runs::get_run))
        .routes(r!(items::list_items))
        .routes(r!(items::get_item))
        .routes(r!(items::approve_items))
        .routes(r!(items::write_off_items))
        .routes(r!(invoices::list_credit_notes))
        .routes(r!(invoices::get_credit_note))
        .routes(r!(settings::get_settings, settings::patch_settings))
        .routes(r!(balance::customer_balance))
        .routes(r!(files::get_xml))
        .routes(r!(files::get_pdf))
        .routes(r!(files::get_document))
        .routes(r!(exports::datev_export))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn module() -> Module {
    Module {
        name: "billing",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: events::CONSUMES,
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let state = BillingState {
                store: psa_kernel::Store::new(pool.clone(), DB.schema),
                verifier: ctx.verifier.clone(),
            };
            let router: Router = routes().split_for_parts().0.with_state(state);
            Ok(Mounted {
                router,
                checks: vec![ReadinessCheck::postgres("billing.postgres", pool.clone())],
                workers: workers::start(&pool, &ctx.config.events),
            })
        },
        openapi,
    }
}
