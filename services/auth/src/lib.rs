//! Auth module: tenants, users, roles, MFA, service accounts, API keys, the
//! audit trail, and the platform's own OIDC issuer (discovery, JWKS, token
//! endpoint, sign-in page).
//!
//! Auth publishes its users' changes (`user.created`, `user.updated`) for
//! the modules that address people; everything else that happens here is
//! recorded on its audit trail (`/v1/audit-events`).

pub mod crypto;
pub mod domain;
pub mod error;
pub mod events;
pub mod perms;
pub mod repo;
pub mod routes;
pub mod state;
pub mod workers;

use std::sync::Arc;

use axum::Router;
use psa_authn::permissions::AUDIT_READ;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, ModuleContext, Mounted, Permission, PlatformConfig};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use crypto::secrets::MasterKey;
pub use crypto::{signing, totp};
pub use domain::oauth;
pub use error::AuthError;
pub use state::AuthState;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "auth",
    schema: "auth",
    role: "psa_auth",
    migrator: &MIGRATOR,
    platform: &[
        psa_db::PlatformPart::Outbox,
        psa_db::PlatformPart::IdempotencyKeys,
    ],
};

pub const USERS_READ: Permission = Permission::new("users:read", "read users");
pub const USERS_WRITE: Permission = Permission::new(
    "users:write",
    "invite, change and suspend users; set passwords; reset MFA",
);
pub const ROLES_READ: Permission = Permission::new("roles:read", "read roles");
pub const ROLES_WRITE: Permission =
    Permission::new("roles:write", "create, change and delete custom roles");
pub const SERVICE_ACCOUNTS_READ: Permission =
    Permission::new("service_accounts:read", "read service accounts");
pub const SERVICE_ACCOUNTS_WRITE: Permission = Permission::new(
    "service_accounts:write",
    "create service accounts and rotate their secrets",
);
pub const API_KEYS_READ: Permission = Permission::new("api_keys:read", "read API keys");
pub const API_KEYS_WRITE: Permission =
    Permission::new("api_keys:write", "create and revoke API keys");
/// Held only in the platform operator's tenant (`PLATFORM_ONLY`).
pub const TENANTS_ADMIN: Permission = Permission::new(
    "tenants:admin",
    "platform operators only: create, list and suspend tenants",
);

pub const PERMISSIONS: &[Permission] = &[
    USERS_READ,
    USERS_WRITE,
    ROLES_READ,
    ROLES_WRITE,
    SERVICE_ACCOUNTS_READ,
    SERVICE_ACCOUNTS_WRITE,
    API_KEYS_READ,
    API_KEYS_WRITE,
    AUDIT_READ,
    TENANTS_ADMIN,
];

/// The path prefixes the gateway routes to auth: the admin API and the
/// OIDC endpoints.
pub const ROUTES: &[&str] = &[
    "/v1/users",
    "/v1/roles",
    "/v1/service-accounts",
    "/v1/api-keys",
    "/v1/tenants",
    "/v1/audit-events",
    "/oauth",
    "/.well-known",
];

/// The OIDC endpoints, reachable without a token.
pub const PUBLIC_ROUTES: &[&str] = &["/oauth", "/.well-known"];

pub fn routes() -> OpenApiRouter<AuthState> {
    use crate::routes::{api_keys, audit_events, mfa, roles, service_accounts, tenants, users};
    OpenApiRouter::with_openapi(psa_kernel::docs::openapi())
        .routes(r!(tenants::create, tenants::list))
        .routes(r!(tenants::get))
        .routes(r!(tenants::current, tenants::patch_current))
        .routes(r!(tenants::suspend))
        .routes(r!(tenants::reactivate))
        .routes(r!(users::create, users::list))
        .routes(r!(users::get, users::patch))
        .routes(r!(users::set_password))
        .routes(r!(users::change_password))
        .routes(r!(mfa::totp_enrol))
        .routes(r!(mfa::totp_confirm))
        .routes(r!(mfa::reset_mfa))
        .routes(r!(roles::list, roles::create))
        .routes(r!(roles::replace, roles::patch, roles::delete))
        .routes(r!(service_accounts::create, service_accounts::list))
        .routes(r!(service_accounts::get, service_accounts::delete))
        .routes(r!(service_accounts::rotate))
        .routes(r!(api_keys::create, api_keys::list))
        .routes(r!(api_keys::get, api_keys::revoke))
        .routes(r!(audit_events::list))
}

pub fn router(state: AuthState) -> Router {
    routes()
        .split_for_parts()
        .0
        .merge(routes::oauth::router())
        .with_state(state)
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn master_key(cfg: &PlatformConfig) -> Result<MasterKey, crypto::secrets::MasterKeyError> {
    cfg.master_key()
}

pub fn build_state(ctx: &ModuleContext) -> anyhow::Result<AuthState> {
    Ok(AuthState {
        store: psa_kernel::Store::new(psa_db::module_pool(&ctx.config.database, &DB)?, DB.schema),
        verifier: ctx.verifier.clone(),
        config: ctx.config.clone(),
        master: Arc::new(master_key(&ctx.config)?),
        registry: ctx.registry.clone(),
    })
}

/// The platform operator's tenant (made by `psa seed-demo` or `psa auth bootstrap`):
/// the only tenant whose roles may hold `tenants:admin`.
pub async fn ensure_platform_tenant(
    pool: &sqlx::PgPool,
    slug: &str,
    name: &str,
) -> Result<uuid::Uuid, AuthError> {
    let mut conn = pool.acquire().await?;
    match repo::tenants::ensure_platform(&mut conn, slug, name).await? {
        (id, true) => Ok(id),
        (_, false) => Err(AuthError::NotPlatformTenant(slug.to_owned())),
    }
}

pub fn module() -> Module {
    Module {
        name: "auth",
        db: DB,
        routes: ROUTES,
        public_routes: PUBLIC_ROUTES,
        permissions: PERMISSIONS,
        publishes: events::PUBLISHES,
        consumes: &[],
        mount: |ctx| {
            let state = build_state(ctx)?;
            let pool = state.store.pool.clone();
            Ok(Mounted {
                checks: vec![ReadinessCheck::postgres("auth.postgres", pool.clone())],
                workers: workers::start(&pool, &ctx.config.events),
                router: router(state),
            })
        },
        openapi,
    }
}
