use psa_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::db_modules;

/// Serves the CRM module alone on `listener` (a separate "process").
fn serve_crm(app: &TestApp, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let verifier = psa_runtime::serve::verifier_with(&app.config, Some(&app.key)).unwrap();
    let router = psa_runtime::serve::app(&app.config, &[psa_crm::module()], verifier).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// A module that is down fails only its own routes (503 + Retry-After), and
/// recovers without a gateway restart.
#[tokio::test]
async fn a_stopped_module_fails_only_its_routes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = TestApp::spawn_custom(
        &db_modules(),
        |cfg| {
            cfg.gateway
                .upstreams
                .insert("crm".into(), format!("http://{addr}"));
        },
        |cfg, v| psa_gateway::app(cfg, &[psa_auth::module(), psa_crm::module()], v),
    )
    .await
    .unwrap();
    let crm = serve_crm(&app, listener);
    let t = Uuid::now_v7();
    let token = app.token(t, &["customers:read", "users:read"]);
    let get = |path: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.http
                .get(app.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("/v1/customers").await.status(), StatusCode::OK);

    crm.abort();
    let _ = crm.await;
    let down = get("/v1/customers").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().contains_key("retry-after"));
    assert_eq!(
        get("/v1/users").await.status(),
        StatusCode::OK,
        "other modules keep working"
    );
    let ready: Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upstream = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "upstream.crm")
        .unwrap()
        .clone();
    assert_eq!(upstream["status"], "down", "/readyz reports the upstream");

    let again = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _crm = serve_crm(&app, again);
    assert_eq!(
        get("/v1/customers").await.status(),
        StatusCode::OK,
        "recovered without a gateway restart"
    );
}

/// The client's X-Request-Id reaches the module and is in its log lines.
#[tokio::test]
async fn the_request_id_reaches_the_module_logs() {
    let logs = psa_testkit::LogCapture::install(tracing::Level::INFO);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = TestApp::spawn_custom(
        &db_modules(),
        |cfg| {
            cfg.gateway
                .upstreams
                .insert("crm".into(), format!("http://{addr}"));
        },
        |cfg, v| psa_gateway::app(cfg, &[psa_auth::module(), psa_crm::module()], v),
    )
    .await
    .unwrap();
    // The module runs with its own layer stack, as a separate process would.
    let verifier = psa_runtime::serve::verifier_with(&app.config, Some(&app.key)).unwrap();
    let router = psa_runtime::serve::app(&app.config, &[psa_crm::module()], verifier).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let id = format!("trace-me-{}", Uuid::new_v4().simple());
    let res = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(app.token(Uuid::now_v7(), &["customers:read"]))
        .header("x-request-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-request-id"], id.as_str());
    let text = logs.text();
    // One access-log line from the gateway and one from the module, both with the client's id
    // (a module that had not received it would log an id of its own).
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&id) && l.contains("finished processing request"))
        .collect();
    assert!(
        lines.len() == 2,
        "the gateway's and the module's log lines carry the id: {lines:?}"
    );
}

/// An upstream slower than its timeout is a 504 problem for that request.
#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    let slow = axum::Router::new().fallback(|| async {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        "late"
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, slow).await });
    let app = TestApp::spawn_custom(
        &db_modules(),
        |cfg| {
            cfg.gateway
                .upstreams
                .insert("crm".into(), format!("http://{addr}"));
            cfg.gateway.upstream_timeout_secs = 1;
        },
        |cfg, v| psa_gateway::app(cfg, &[psa_auth::module(), psa_crm::module()], v),
    )
    .await
    .unwrap();
    let res = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(app.token(Uuid::now_v7(), &["customers:read"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
