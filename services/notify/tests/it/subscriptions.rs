//! Subscriptions: the SSRF guard at creation and at connect time, the
//! secret shown once, isolation between tenants, test events, recovery by
//! window, the health check and catch-up from the archive.

use axum::http::StatusCode;
use serde_json::json;

use super::*;

/// A deployment as production runs it: https only, no allow-list.
async fn strict() -> World {
    World::with(TestApp::spawn(&[psa_notify::module()]).await.unwrap())
}

#[tokio::test]
async fn urls_to_private_or_insecure_destinations_are_refused() {
    let w = strict().await;
    let res =
        w.c.post(
            "/v1/webhooks",
            json!({"url": "http://93.184.215.14/hook", "event_types": ["*"]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "insecure_scheme");

    // Where http is allowed (development), addresses are still checked.
    let app = TestApp::spawn_with(&[psa_notify::module()], |cfg| {
        cfg.notify.outbound.allow_http = true;
    })
    .await
    .unwrap();
    let w = World::with(app);
    for (url, code) in [
        ("http://127.0.0.1:8080/hook", "address_not_allowed"),
        ("http://10.0.0.1/", "address_not_allowed"),
        ("https://192.168.1.20/hook", "address_not_allowed"),
        (
            "http://169.254.169.254/latest/meta-data",
            "address_not_allowed",
        ),
        ("http://[::1]/", "address_not_allowed"),
        ("https://[fd00::1]/hook", "address_not_allowed"),
        ("http://[::ffff:127.0.0.1]/hook", "address_not_allowed"),
        ("http://localhost:8080/hook", "address_not_allowed"),
        ("https://user:pw@93.184.215.14/hook", "credentials_in_url"),
        ("https://no-such-host.invalid/hook", "unresolvable"),
        ("ftp://93.184.215.14/hook", "invalid_url"),
    ] {
        let res =
            w.c.post("/v1/webhooks", json!({"url": url, "event_types": ["*"]}))
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], "url", "{url}");
        assert_eq!(res.body["errors"][0]["code"], code, "{url}");
    }
    assert!(w.c.all("/v1/webhooks").await.is_empty());
    // A public address is accepted; a change to a private one is refused.
    let hook = w
        .subscribe("https://93.184.215.14/hook", &["ticket.*"])
        .await;
    let id = hook["id"].as_str().unwrap();
    w.c.patch(
        &format!("/v1/webhooks/{id}"),
        json!({"url": "http://127.0.0.1/x"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    w.c.post(
        "/v1/webhooks",
        json!({"url": "https://93.184.215.14/", "event_types": ["Ticket.*"]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Allow-listed (as the other tests' configuration does), loopback is fine.
    let open = World::new().await;
    open.subscribe("http://127.0.0.1:9/hook", &["*"]).await;
}

#[tokio::test]
async fn the_address_connected_to_is_checked_too() {
    // http allowed, loopback not: a URL saved while its name resolved to a
    // public address, now resolving to loopback (rebinding), is never reached.
    let app = TestApp::spawn_with(&[psa_notify::module()], |cfg| {
        fast(cfg);
        cfg.notify.outbound.allow_networks = vec![];
    })
    .await
    .unwrap();
    let w = World::with(app);
    let r = Receiver::start().await;
    let port = r.url.rsplit(':').next().unwrap();
    let url = format!("http://localhost:{port}/rebound");
    w.c.post("/v1/webhooks", json!({"url": url, "event_types": ["*"]}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Saved while it passed; the destination is changed underneath (as a
    // DNS answer would change).
    let hook = w.subscribe("https://93.184.215.14/hook", &["*"]).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let mut tx = psa_kernel::Tx::for_tenant(&w.store(), w.tenant)
        .await
        .unwrap();
    sqlx::query("update notify.webhooks set url = $1")
        .bind(&url)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    w.event("ticket.created", json!({})).await;
    let log = eventually("an attempt", || async {
        let log = w.c.all(&format!("/v1/webhooks/{id}/deliveries")).await;
        (!log.is_empty()).then_some(log)
    })
    .await;
    assert_eq!(log[0]["outcome"], "error");
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{}",
        log[0]["error"]
    );
    assert!(r.received("/rebound").await.is_empty());
    // Literal loopback addresses are refused before any connection too.
    let mut tx = psa_kernel::Tx::for_tenant(&w.store(), w.tenant)
        .await
        .unwrap();
    sqlx::query("update notify.webhooks set url = $1")
        .bind(format!("http://127.0.0.1:{port}/literal"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    w.event("ticket.updated", json!({})).await;
    let log = eventually("a second attempt", || async {
        let log =
            w.c.all(&format!(
                "/v1/webhooks/{id}/deliveries?event_type=ticket.updated"
            ))
            .await;
        (!log.is_empty()).then_some(log)
    })
    .await;
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{}",
        log[0]["error"]
    );
    assert!(r.received("/literal").await.is_empty());
}

#[tokio::test]
async fn subscriptions_are_the_tenant_s_own() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/x", json!([]), json!({"status": 500})).await;
    let hook = w.subscribe(&r.endpoint("/x"), &["*"]).await;
    let id = hook["id"].as_str().unwrap();
    let listed = w.c.all("/v1/webhooks").await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("secret").is_none());
    w.event("ticket.created", json!({})).await;
    let letters = eventually("a dead letter", || async {
        let l = w.dead_letters().await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    let letter = letters[0]["id"].as_str().unwrap();

    let (_, other) = w.app.new_tenant(PERMS);
    assert!(other.all("/v1/webhooks").await.is_empty());
    assert!(other.all("/v1/dead-letters").await.is_empty());
    for res in [
        other.get(&format!("/v1/webhooks/{id}")).await,
        other
            .patch(&format!("/v1/webhooks/{id}"), json!({"enabled": false}))
            .await,
        other
            .post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
            .await,
        other
            .post(&format!("/v1/webhooks/{id}/test"), json!({}))
            .await,
        other
            .post(
                &format!("/v1/webhooks/{id}/recover"),
                json!({"since": "2026-01-01T00:00:00Z"}),
            )
            .await,
        other.get(&format!("/v1/webhooks/{id}/deliveries")).await,
        other.get(&format!("/v1/dead-letters/{letter}")).await,
        other
            .post(&format!("/v1/dead-letters/{letter}/replay"), json!({}))
            .await,
        other.delete(&format!("/v1/webhooks/{id}")).await,
    ] {
        res.assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    // Without the permission: 403, whatever the body.
    let (_, reader) = w.app.new_tenant(&["customers:read"]);
    reader
        .post("/v1/webhooks", json!({"nonsense": true}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    // Deleting takes its deliveries and dead letters along.
    w.c.delete(&format!("/v1/webhooks/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(w.dead_letters().await.is_empty());
}

#[tokio::test]
async fn a_test_event_is_delivered_and_logged() {
    let w = World::new().await;
    let r = Receiver::start().await;
    let hook = w.subscribe(&r.endpoint("/t"), &["invoice.released"]).await;
    r.secrets(&[hook["secret"].as_str().unwrap()]).await;
    let id = hook["id"].as_str().unwrap();
    let queued =
        w.c.post(&format!("/v1/webhooks/{id}/test"), json!({}))
            .await
            .assert_status(StatusCode::ACCEPTED);
    let got = r.wait_for("/t", 1).await;
    assert_eq!(got[0]["verified_with"], json!([0]));
    assert_eq!(got[0]["webhook_id"], queued.body["event_id"]);
    let body: Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["webhook_id"], json!(id));
}

#[tokio::test]
async fn recovery_sends_the_dead_letters_of_a_window_again() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/rec", json!([]), json!({"status": 503})).await;
    let hook = w.subscribe(&r.endpoint("/rec"), &["*"]).await;
    let id = hook["id"].as_str().unwrap();
    w.event("ticket.created", json!({"n": "early"})).await;
    eventually("the first dead letter", || async {
        (w.dead_letters().await.len() == 1).then_some(())
    })
    .await;
    let between = chrono::Utc::now();
    w.event("ticket.created", json!({"n": "late"})).await;
    eventually("the second dead letter", || async {
        (w.dead_letters().await.len() == 2).then_some(())
    })
    .await;

    r.script("/rec", json!([]), json!({"status": 200})).await;
    w.c.post(
        &format!("/v1/webhooks/{id}/recover"),
        json!({"since": chrono::Utc::now()}),
    )
    .await
    .assert_status(StatusCode::OK);
    let res =
        w.c.post(
            &format!("/v1/webhooks/{id}/recover"),
            json!({"since": between}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["requeued"], 1);
    let letters = eventually("the late one delivered", || async {
        let l = w.dead_letters().await;
        (l.len() == 1).then_some(l)
    })
    .await;
    assert_eq!(letters[0]["event"]["data"]["n"], "early");
    let delivered = r.received("/rec").await;
    let last: Value =
        serde_json::from_str(delivered.last().unwrap()["body"].as_str().unwrap()).unwrap();
    assert_eq!(last["data"]["n"], "late");
    w.c.post(
        &format!("/v1/webhooks/{id}/recover"),
        json!({"since": between, "until": "2020-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_disabled() {
    let w = World::new().await;
    let failing = w.subscribe("http://127.0.0.1:9/failing", &["*"]).await;
    let healthy = w.subscribe("http://127.0.0.1:9/healthy", &["*"]).await;
    let now = chrono::Utc::now();
    let mut tx = psa_kernel::Tx::for_tenant(&w.store(), w.tenant)
        .await
        .unwrap();
    sqlx::query("update notify.webhooks set failing_since = $1 where id = $2")
        .bind(now - chrono::Duration::hours(121))
        .bind(Uuid::parse_str(failing["id"].as_str().unwrap()).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update notify.webhooks set failing_since = $1 where id = $2")
        .bind(now - chrono::Duration::hours(119))
        .bind(Uuid::parse_str(healthy["id"].as_str().unwrap()).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let config = &w.app.config.notify;
    assert_eq!(
        psa_notify::workers::health_once(&w.store(), config, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        psa_notify::workers::health_once(&w.store(), config, now)
            .await
            .unwrap(),
        0
    );
    let f =
        w.c.get(&format!("/v1/webhooks/{}", failing["id"].as_str().unwrap()))
            .await;
    assert_eq!(f.body["enabled"], false);
    assert!(
        f.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("120 hours")
    );
    let h =
        w.c.get(&format!("/v1/webhooks/{}", healthy["id"].as_str().unwrap()))
            .await;
    assert_eq!(h.body["enabled"], true);
    let mut tx = psa_kernel::Tx::for_tenant(&w.store(), w.tenant)
        .await
        .unwrap();
    let told: i64 =
        sqlx::query_scalar("select count(*) from notify.outbox where type = 'webhook.disabled'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(told, 1);
}

#[tokio::test]
async fn a_new_subscription_catches_up_from_the_archive() {
    let w = World::with_events().await;
    let r = Receiver::start().await;
    let (other, _) = w.app.new_tenant(PERMS);
    let bus = w.app.bus();
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let mut ours = Vec::new();
    for (tenant, event_type) in [
        (w.tenant, "ticket.created"),
        (other, "ticket.created"),
        (w.tenant, "invoice.released"),
        (w.tenant, "ticket.updated"),
    ] {
        let e = psa_testkit::broker::event(tenant, event_type, json!({}));
        bus.publish(&e).await.unwrap();
        if tenant == w.tenant && event_type.starts_with("ticket.") {
            ours.push(e.id.to_string());
        }
    }
    let hook =
        w.c.create(
            "/v1/webhooks",
            json!({"url": r.endpoint("/late"), "event_types": ["ticket.*"], "since": since}),
        )
        .await;
    assert!(hook["catching_up_since"].is_string());
    let got = r.wait_for("/late", 2).await;
    let ids: Vec<String> = got
        .iter()
        .map(|d| d["webhook_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in &ours {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    let id = hook["id"].as_str().unwrap();
    eventually("the catch-up done", || async {
        let s = w.c.get(&format!("/v1/webhooks/{id}")).await;
        s.body["catching_up_since"].is_null().then_some(())
    })
    .await;
    w.c.post(
        "/v1/webhooks",
        json!({"url": r.endpoint("/x"), "event_types": ["*"], "since": "2999-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}
