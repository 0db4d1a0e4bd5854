//! Notify: webhook subscriptions per tenant, delivered per Standard
//! Webhooks (signed, retried with growing delays, dead-lettered after the
//! last attempt and replayable), and notifications by e-mail, Teams and
//! SMS by the tenant's rules (templates, recipients from users, roles,
//! tickets and contacts, users' opt-outs, a per-recipient cap folding
//! floods into digests), with an SSRF guard on every destination a tenant
//! sets. Events reach it from the bus; deliveries and messages are durable
//! rows claimed with `SKIP LOCKED`, so they survive a restart and run
//! concurrently across processes.

pub mod dispatch;
pub mod domain;
pub mod error;
pub mod events;
pub mod repo;
pub mod routes;
pub mod senders;
pub mod state;
pub mod workers;

use std::sync::Arc;

use axum::Router;
use psa_http::health::ReadinessCheck;
use psa_kernel::Store;
use psa_outbound::Guard;
use psa_runtime::{Module, Mounted, Permission};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use dispatch::{Dispatcher, Mailer};
pub use state::NotifyState;
pub use workers::FAN_OUT_QUEUE;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/notify");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "notify",
    schema: "notify",
    role: "psa_notify",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::Inbox,
        psa_db::PlatformPart::IdempotencyKeys,
    ],
};

pub const WEBHOOKS_ADMIN: Permission = Permission::new(
    "webhooks:admin",
    "manage webhook subscriptions and their secrets, read their delivery log, replay dead letters",
);

pub const NOTIFICATIONS_ADMIN: Permission = Permission::new(
    "notifications:admin",
    "manage notification channels (e-mail, Teams, SMS) and rules, read their message logs",
);

pub const PERMISSIONS: &[Permission] = &[WEBHOOKS_ADMIN, NOTIFICATIONS_ADMIN];

/// The path prefixes the gateway routes to the notify module.
pub const ROUTES: &[&str] = &[
    "/v1/webhooks",
    "/v1/dead-letters",
    "/v1/notification-channels",
    "/v1/notification-rules",
    "/v1/users/me/notification-preferences",
];

/// The purpose the key sealing webhook secrets and channel secrets is
/// derived for.
const WEBHOOK_SECRETS: &str = "notify: webhook secrets";

pub fn routes() -> OpenApiRouter<NotifyState> {
    use routes::{channels as c, dead_letters as dl, preferences as p, rules as ru, webhooks as w};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(w::list_webhooks, w::create_webhook))
        .routes(r!(w::get_webhook, w::patch_webhook, w::delete_webhook))
        .routes(r!(w::rotate_secret))
        .routes(r!(w::test_webhook))
        .routes(r!(w::recover))
        .routes(r!(w::list_deliveries))
        .routes(r!(dl::list_dead_letters))
        .routes(r!(dl::get_dead_letter))
        .routes(r!(dl::replay_dead_letter))
        .routes(r!(c::list_channels, c::create_channel))
        .routes(r!(c::get_channel, c::patch_channel, c::delete_channel))
        .routes(r!(c::list_messages))
        .routes(r!(c::get_message))
        .routes(r!(ru::list_rules, ru::create_rule))
        .routes(r!(ru::get_rule, ru::patch_rule, ru::delete_rule))
        .routes(r!(p::get_preferences, p::put_preferences))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn module() -> Module {
    Module {
        name: "notify",
        db: DB,
        routes: ROUTES,
        public_routes: &[],
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: events::CONSUMES,
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let config = Arc::new(ctx.config.notify.clone());
            config.check().map_err(anyhow::Error::msg)?;
            let guard = Arc::new(Guard::new(&config.outbound).map_err(anyhow::Error::msg)?);
            let keys = Arc::new(ctx.config.master_key()?.derive(WEBHOOK_SECRETS));
            let store = Store::new(pool.clone(), DB.schema);
            let dispatcher =
                Dispatcher::new(store.clone(), keys.clone(), guard.clone(), config.clone())?;
            let mailer = Mailer::new(store.clone(), keys.clone(), guard.clone(), config.clone())?;
            let workers = workers::start(&store, &config, &ctx.config.events, dispatcher, mailer);
            let state = NotifyState {
                store,
                verifier: ctx.verifier.clone(),
                keys,
                guard,
                config,
            };
            let router: Router = routes().split_for_parts().0.with_state(state);
            Ok(Mounted {
                router,
                checks: vec![ReadinessCheck::postgres("notify.postgres", pool)],
                workers,
            })
        },
        openapi,
    }
}
