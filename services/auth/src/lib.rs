//! Auth module: tenants, users, roles, MFA, service accounts, API keys, the
//! audit trail, and the platform's own OIDC issuer (discovery, JWKS, token
//! endpoint, sign-in page).

pub mod admin;
pub mod audit;
pub mod error;
pub mod login;
pub mod mfa;
pub mod oauth;
pub mod perms;
pub mod secrets;
pub mod signing;
pub mod state;
pub mod tokens;
pub mod totp;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use psa_authn::permissions::AUDIT_READ;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, ModuleContext, Mounted, Permission, PlatformConfig, Workers};
use sqlx::migrate::Migrator;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

pub use error::AuthError;
pub use secrets::MasterKey;
pub use state::AuthState;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "auth",
    schema: "auth",
    role: "psa_auth",
    migrator: &MIGRATOR,
    platform: &[psa_db::PlatformPart::IdempotencyKeys],
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
    use admin::*;
    OpenApiRouter::new()
        .routes(r!(tenants::create, tenants::list))
        .routes(r!(tenants::get))
        .routes(r!(tenants::current, tenants::patch_current))
        .routes(r!(tenants::suspend))
        .routes(r!(tenants::reactivate))
        .routes(r!(users::create, users::list))
        .routes(r!(users::get, users::patch))
        .routes(r!(users::set_password))
        .routes(r!(users::change_password))
        .routes(r!(users::totp_enrol))
        .routes(r!(users::totp_confirm))
        .routes(r!(users::reset_mfa))
        .routes(r!(roles::list, roles::create))
        .routes(r!(roles::replace, roles::delete))
        .routes(r!(service_accounts::create, service_accounts::list))
        .routes(r!(service_accounts::get, service_accounts::delete))
        .routes(r!(service_accounts::rotate))
        .routes(r!(api_keys::create, api_keys::list))
        .routes(r!(api_keys::get, api_keys::revoke))
        .routes(r!(audit_events::list))
}

/// The OIDC/OAuth endpoints (standard paths, described by discovery rather than OpenAPI).
fn oauth_routes() -> Router<AuthState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(oauth::discovery))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .route("/oauth/token", axum::routing::post(oauth::token))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_submit),
        )
}

pub fn router(state: AuthState) -> Router {
    routes()
        .split_for_parts()
        .0
        .merge(oauth_routes())
        .with_state(state)
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

pub fn master_key(cfg: &PlatformConfig) -> Result<MasterKey, secrets::MasterKeyError> {
    let a = &cfg.auth_server;
    MasterKey::load(&a.master_key, &a.master_key_file, a.create_master_key)
}

pub fn build_state(ctx: &ModuleContext) -> anyhow::Result<AuthState> {
    Ok(AuthState {
        pool: psa_db::module_pool(&ctx.config.database, &DB)?,
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
    sqlx::query("insert into auth.tenants (id, slug, name, status, is_platform) values ($1, $2, $3, 'active', true) on conflict (slug) do nothing")
        .bind(uuid::Uuid::now_v7())
        .bind(slug)
        .bind(name)
        .execute(pool)
        .await?;
    let (id, is_platform): (uuid::Uuid, bool) =
        sqlx::query_as("select id, is_platform from auth.tenants where slug = $1")
            .bind(slug)
            .fetch_one(pool)
            .await?;
    if !is_platform {
        return Err(AuthError::Conflict(format!(
            "tenant {slug} exists and is not the platform tenant"
        )));
    }
    Ok(id)
}

pub fn module() -> Module {
    Module {
        name: "auth",
        db: DB,
        routes: ROUTES,
        public_routes: PUBLIC_ROUTES,
        permissions: PERMISSIONS,
        publishes: &[],
        consumes: &[],
        mount: |ctx| {
            let state = build_state(ctx)?;
            let mut workers = Workers::new("auth");
            workers.housekeeping(state.pool.clone(), "auth");
            Ok(Mounted {
                checks: vec![ReadinessCheck::postgres(
                    "auth.postgres",
                    state.pool.clone(),
                )],
                router: router(state),
                workers,
            })
        },
        openapi,
    }
}
