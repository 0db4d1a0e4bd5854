use std::net::SocketAddr;

use psa_testkit::{Client, FaultProxy, TestApp, fixtures};
use reqwest::StatusCode;

use crate::caller;

async fn wait_for_status(probe: &Client, want: StatusCode) -> StatusCode {
    // Each /readyz call is itself bounded (2 s); poll a few times, no fixed sleeps.
    let mut last = StatusCode::OK;
    for _ in 0..20 {
        last = probe.get("/readyz").await.status;
        if last == want {
            break;
        }
        tokio::task::yield_now().await;
    }
    last
}

#[tokio::test]
async fn readyz_follows_postgres_down_and_back_without_restart() {
    let server = psa_testkit::postgres_addr();
    let pg: SocketAddr = server.parse().unwrap();
    let proxy = FaultProxy::start(pg).await.unwrap();
    let port = proxy.addr.port();
    let app = TestApp::spawn_with(&[psa_crm::module()], |cfg| {
        cfg.database.url = cfg
            .database
            .url
            .replace(&format!("{server}/"), &format!("127.0.0.1:{port}/"));
    })
    .await
    .unwrap();
    let c = caller(&app);
    let probe = app.anonymous();

    assert_eq!(
        wait_for_status(&probe, StatusCode::OK).await,
        StatusCode::OK
    );
    fixtures::customer(&c, "before").await;

    proxy.set_down(true);
    let body = probe
        .get("/readyz")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(
        body["detail"].as_str().unwrap().contains("crm.postgres"),
        "{body}"
    );
    assert!(
        c.get("/v1/customers").await.status.is_server_error(),
        "requests fail cleanly while down"
    );
    let body = c
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(
        !body["detail"]
            .as_str()
            .unwrap()
            .contains(&pg.port().to_string()),
        "no internals leak"
    );
    assert!(
        probe.get("/healthz").await.status.is_success(),
        "still alive"
    );

    proxy.set_down(false);
    assert_eq!(
        wait_for_status(&probe, StatusCode::OK).await,
        StatusCode::OK
    );
    fixtures::customer(&c, "after").await;
}
