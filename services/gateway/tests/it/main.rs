//! Gateway integration tests: the gateway in front of the auth and CRM
//! modules (in-process or over HTTP), real Postgres and Redis.

mod edge;
mod ratelimit;
mod upstreams;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use psa_runtime::PlatformConfig;
use psa_testkit::{TestApp, fixtures};
use uuid::Uuid;

pub fn db_modules() -> Vec<psa_runtime::Module> {
    vec![psa_gateway::module(), psa_auth::module(), psa_crm::module()]
}

pub async fn gateway(adjust: impl FnOnce(&mut PlatformConfig)) -> TestApp {
    TestApp::spawn_custom(&db_modules(), adjust, |cfg, verifier| {
        let registry = Arc::new(psa_runtime::Registry::new(db_modules())?);
        psa_gateway::app(cfg, registry, &["auth", "crm"], verifier)
    })
    .await
    .expect("gateway starts")
}

/// A tenant the auth module knows (API keys need an active tenant).
pub async fn tenant(app: &TestApp) -> Uuid {
    app.auth_tenant().await.unwrap().0
}

/// A new API key of `tenant` reading customers (with its own per-minute
/// limit if given).
pub async fn reader_key(app: &TestApp, tenant: Uuid, per_minute: Option<u32>) -> String {
    let admin = app.client_for(tenant, &["api_keys:write", "customers:read"]);
    let key = fixtures::api_key(&admin, &["customers:read"], per_minute).await;
    key["key"].as_str().unwrap().to_owned()
}

/// An upstream that only counts what reaches it.
pub struct CountingUpstream {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

impl CountingUpstream {
    pub async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({"data": [], "next_cursor": null}))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
