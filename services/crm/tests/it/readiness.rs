use std::net::SocketAddr;

use psa_testkit::{FaultProxy, TestApp};
use reqwest::StatusCode;

use crate::{ALL, Client};

async fn wait_for_status(app: &TestApp, want: StatusCode) -> StatusCode {
    // Each /readyz call is itself bounded (2 s); poll a few times, no fixed sleeps.
    let mut last = StatusCode::OK;
    for _ in 0..20 {
        last = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if last == want {
            break;
        }
        tokio::task::yield_now().await;
    }
    last
}

#[tokio::test]
async fn readyz_follows_postgres_down_and_back_without_restart() {
    let pg: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = FaultProxy::start(pg).await.unwrap();
    let port = proxy.addr.port();
    let app = TestApp::spawn_with(&[psa_crm::module()], |cfg| {
        cfg.database.url = cfg.database.url.replace(":5432/", &format!(":{port}/"));
    })
    .await
    .unwrap();
    let c = Client::new(&app, ALL);

    assert_eq!(wait_for_status(&app, StatusCode::OK).await, StatusCode::OK);
    c.customer("before").await;

    proxy.set_down(true);
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    let body = crate::problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        body["detail"].as_str().unwrap().contains("crm.postgres"),
        "{body}"
    );
    assert!(
        c.get("/v1/customers").await.status().is_server_error(),
        "requests fail cleanly while down"
    );
    let res = c.get("/v1/customers").await;
    let body = crate::problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        !body["detail"].as_str().unwrap().contains("5432"),
        "no internals leak"
    );
    assert!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success(),
        "still alive"
    );

    proxy.set_down(false);
    assert_eq!(wait_for_status(&app, StatusCode::OK).await, StatusCode::OK);
    c.customer("after").await;
}
