use std::net::SocketAddr;

use psa_testkit::TestApp;
use reqwest::{Method, StatusCode};

use crate::gateway;

/// Serves the CRM module alone on `listener` (a separate "process").
fn serve_crm(app: &TestApp, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let verifier = psa_runtime::serve::verifier_with(&app.config, Some(&app.key)).unwrap();
    let router = psa_runtime::serve::app(&app.config, &[psa_crm::module()], verifier).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// The gateway with CRM's routes sent to `crm` over HTTP.
async fn gateway_to_crm_at(crm: SocketAddr, upstream_timeout_secs: Option<u64>) -> TestApp {
    gateway(move |cfg| {
        cfg.gateway
            .upstreams
            .insert("crm".into(), format!("http://{crm}"));
        if let Some(secs) = upstream_timeout_secs {
            cfg.gateway.upstream_timeout_secs = secs;
        }
    })
    .await
}

/// A module that is down fails only its own routes (503 + Retry-After), and
/// recovers without a gateway restart.
#[tokio::test]
async fn a_stopped_module_fails_only_its_routes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = gateway_to_crm_at(addr, None).await;
    let crm = serve_crm(&app, listener);
    let c = app.new_tenant(&["customers:read", "users:read"]).1;
    c.get("/v1/customers").await.assert_status(StatusCode::OK);

    crm.abort();
    let _ = crm.await;
    let down = c
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(down.header("retry-after").is_some());
    assert_eq!(
        c.get("/v1/users").await.status,
        StatusCode::OK,
        "other modules keep working"
    );
    let ready = app.anonymous().get("/readyz").await;
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
        c.get("/v1/customers").await.status,
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
    let app = gateway_to_crm_at(addr, None).await;
    // The module runs with its own layer stack, as a separate process would.
    let _crm = serve_crm(&app, listener);

    let id = format!("trace-me-{}", uuid::Uuid::new_v4().simple());
    let c = app.new_tenant(&["customers:read"]).1;
    let res = c
        .send(
            c.request(Method::GET, "/v1/customers")
                .header("x-request-id", &id),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.header("x-request-id"), Some(id.as_str()));
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
    let app = gateway_to_crm_at(addr, Some(1)).await;
    app.new_tenant(&["customers:read"])
        .1
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::GATEWAY_TIMEOUT, "gateway_timeout");
}
