//! Auth module integration tests: the auth and CRM modules in one process,
//! real HTTP, real Postgres, the CRM trusting the auth module as issuer.

mod consistency;
mod isolation;
mod keys;
mod oauth;
mod secrets;

use psa_testkit::{Client, TestApp, TestResponse, fixtures};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

/// Stands in for the tickets module in the registry (its permissions), so
/// the built-in roles' permissions are all registered.
fn tickets_perms() -> psa_runtime::Module {
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
    use psa_runtime::Permission as P;
    static PERMS: &[P] = &[
        P::new("tickets:read", "read tickets and their comments"),
        P::new("tickets:write", "open, change and comment on tickets"),
        P::new("time:write", "log time on tickets"),
    ];
    psa_runtime::Module {
        name: "tickets",
        db: psa_db::ModuleDb {
            module: "tickets",
            schema: "tickets",
            role: "psa_tickets",
            migrator: &MIGRATOR,
            platform: &[],
        },
        routes: &[],
        public_routes: &[],
        permissions: PERMS,
        publishes: &[],
        consumes: &[],
        mount: |_| anyhow::bail!("not mounted"),
        openapi: utoipa::openapi::OpenApi::default,
    }
}

/// The platform these tests run: auth and CRM served, tickets' permissions known.
fn registry() -> psa_runtime::Registry {
    psa_runtime::Registry::new([psa_auth::module(), psa_crm::module(), tickets_perms()])
        .expect("the modules fit together")
}

pub async fn app() -> TestApp {
    TestApp::spawn_custom(
        &[psa_auth::module(), psa_crm::module()],
        |_| {},
        |cfg, verifier| {
            let served = psa_runtime::serve::app_in(
                cfg,
                std::sync::Arc::new(registry()),
                &["auth", "crm"],
                verifier,
            )?;
            Ok((served, Vec::new()))
        },
    )
    .await
    .expect("test app starts")
}

/// Everything a tenant admin holds (the built-in admin role).
pub fn admin_perms() -> Vec<&'static str> {
    registry().builtin_role("admin").unwrap()
}

/// A tenant the auth module knows, with an admin (test issuer token).
pub struct Tenant {
    pub id: Uuid,
    /// The company ID users sign in with.
    pub slug: String,
    pub admin: Client,
}

impl Tenant {
    pub async fn new(app: &TestApp) -> Self {
        let (id, slug) = app.auth_tenant().await.unwrap();
        Self {
            id,
            slug,
            admin: app.client_for(id, &admin_perms()),
        }
    }
}

/// A service account with these permissions: (client_id, client_secret, id).
pub async fn service_account(admin: &Client, permissions: &[&str]) -> (String, String, String) {
    let sa = fixtures::service_account(admin, permissions).await;
    let field = |name: &str| sa[name].as_str().unwrap().to_owned();
    (field("client_id"), field("client_secret"), field("id"))
}

/// A user with these roles; its id.
pub async fn user(admin: &Client, email: &str, password: &str, roles: &[&str]) -> String {
    fixtures::user(admin, email, password, roles).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts what CRM lets a token holding `customers:read` (only) do: read
/// customers, not write them.
pub async fn assert_reads_customers_only(app: &TestApp, token: &str) {
    let reader = app.client(token);
    reader
        .get("/v1/customers")
        .await
        .assert_status(StatusCode::OK);
    reader
        .post("/v1/customers", json!({"name": "From a token"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// Exchanges an API key for an access token at `/oauth/token`.
pub async fn exchange_api_key(c: &Client, key: &str) -> TestResponse {
    c.send(c.request(Method::POST, "/oauth/token").form(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token_type", "urn:psa:token-type:api-key"),
        ("subject_token", key),
    ]))
    .await
}
