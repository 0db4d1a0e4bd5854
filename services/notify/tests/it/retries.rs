//! The retry policy against a real receiver: four attempts then a dead
//! letter, replay, 410, Retry-After, redirects, timeouts, slow receivers.

use axum::http::StatusCode;
use serde_json::json;

use super::*;

fn statuses(n: usize, status: u16) -> Value {
    Value::Array(
        (0..n)
            .map(|_| json!({"status": status, "body": "nope"}))
            .collect(),
    )
}

async fn attempts(w: &World, hook: &str) -> Vec<Value> {
    w.c.all(&format!("/v1/webhooks/{hook}/deliveries")).await
}

#[tokio::test]
async fn four_failures_make_a_dead_letter_that_replays_once() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/dl", statuses(4, 500), json!({"status": 204}))
        .await;
    let hook = w.subscribe(&r.endpoint("/dl"), &["*"]).await;
    r.secrets(&[hook["secret"].as_str().unwrap()]).await;
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let event = w.event("ticket.created", json!({"n": 1})).await;

    let got = r.wait_for("/dl", 4).await;
    assert!(
        got.iter()
            .all(|d| d["webhook_id"] == json!(event.to_string())),
        "the same webhook-id on every retry"
    );
    assert!(got.iter().all(|d| d["verified_with"] == json!([0])));
    let letters = eventually("a dead letter", || async {
        let l = w.dead_letters().await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(letters.len(), 1);
    let letter_id = letters[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(letters[0]["event_id"], json!(event.to_string()));
    assert_eq!(letters[0]["attempt_count"], 4);
    assert_eq!(letters[0]["event"]["data"], json!({"n": 1}));
    let letter =
        w.c.get(&format!("/v1/dead-letters/{letter_id}"))
            .await
            .assert_status(StatusCode::OK);
    let tries = letter.body["attempts"].as_array().unwrap();
    assert_eq!(tries.len(), 4);
    for t in tries {
        assert_eq!(t["status_code"], 500);
        assert_eq!(t["outcome"], "failed");
        assert_eq!(t["response_body"], "nope");
        assert!(t["duration_ms"].as_i64().unwrap() >= 0);
    }
    assert_eq!(r.received("/dl").await.len(), 4, "no fifth attempt");

    // Replay: one more delivery, same webhook-id, verified with the current secret.
    w.c.post(&format!("/v1/dead-letters/{letter_id}/replay"), json!({}))
        .await
        .assert_status(StatusCode::ACCEPTED);
    let got = r.wait_for("/dl", 5).await;
    assert_eq!(got[4]["webhook_id"], json!(event.to_string()));
    assert_eq!(got[4]["verified_with"], json!([0]));
    let log = eventually("the replay in the log", || async {
        let log = attempts(&w, &hook_id).await;
        (log.len() == 5).then_some(log)
    })
    .await;
    assert_eq!(log[4]["outcome"], "delivered");
    assert_eq!(log[4]["replay"], true);
    assert_eq!(log[0]["replay"], false);
    assert!(w.dead_letters().await.is_empty());
    w.c.post(&format!("/v1/dead-letters/{letter_id}/replay"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "not_a_dead_letter");
    assert_eq!(r.received("/dl").await.len(), 5);
}

#[tokio::test]
async fn two_failures_then_success_is_no_dead_letter() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script(
        "/ok3",
        json!([{"status": 500}, {"status": 502}]),
        json!({"status": 200}),
    )
    .await;
    let hook = w.subscribe(&r.endpoint("/ok3"), &["ticket.*"]).await;
    let hook_id = hook["id"].as_str().unwrap();
    w.event("ticket.created", json!({})).await;
    r.wait_for("/ok3", 3).await;
    let log = eventually("three attempts logged", || async {
        let log = attempts(&w, hook_id).await;
        (log.len() == 3).then_some(log)
    })
    .await;
    let outcomes: Vec<&str> = log.iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["failed", "failed", "delivered"]);
    assert!(w.dead_letters().await.is_empty());
    let shown = w.c.get(&format!("/v1/webhooks/{hook_id}")).await;
    assert_eq!(
        shown.body["failing_since"],
        Value::Null,
        "a success ends the streak"
    );
    // Filters of the log.
    let failed =
        w.c.all(&format!("/v1/webhooks/{hook_id}/deliveries?status=failed"))
            .await;
    assert_eq!(failed.len(), 2);
    let none =
        w.c.all(&format!(
            "/v1/webhooks/{hook_id}/deliveries?event_type=invoice.released"
        ))
        .await;
    assert!(none.is_empty());
    let page =
        w.c.get(&format!("/v1/webhooks/{hook_id}/deliveries?limit=2"))
            .await;
    assert_eq!(page.items().len(), 2);
    let rest =
        w.c.get(&format!(
            "/v1/webhooks/{hook_id}/deliveries?limit=2&cursor={}",
            page.next_cursor().unwrap()
        ))
        .await;
    assert_eq!(rest.items()[0]["outcome"], "delivered");
    w.c.get(&format!("/v1/webhooks/{hook_id}/deliveries?status=lost"))
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn gone_disables_the_subscription_and_says_so() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/gone", json!([]), json!({"status": 410})).await;
    let hook = w.subscribe(&r.endpoint("/gone"), &["*"]).await;
    let hook_id = hook["id"].as_str().unwrap();
    w.event("ticket.created", json!({})).await;
    let shown = eventually("the subscription disabled", || async {
        let s = w.c.get(&format!("/v1/webhooks/{hook_id}")).await;
        (s.body["enabled"] == false).then_some(s)
    })
    .await;
    assert!(
        shown.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    assert_eq!(r.received("/gone").await.len(), 1, "no retry after 410");
    let letters = eventually("its dead letter", || async {
        let l = w.dead_letters().await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(letters[0]["attempt_count"], 1);
    let mut tx = psa_kernel::Tx::for_tenant(&w.store(), w.tenant)
        .await
        .unwrap();
    let told: Vec<serde_json::Value> =
        sqlx::query_scalar("select payload from notify.outbox where type = 'webhook.disabled'")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["webhook"]["id"], json!(hook_id));
    // Disabled: nothing is delivered, replay and recovery say why.
    let letter = letters[0]["id"].as_str().unwrap();
    w.c.post(&format!("/v1/dead-letters/{letter}/replay"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "webhook_disabled");
    w.c.post(&format!("/v1/webhooks/{hook_id}/test"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "webhook_disabled");
    // Enabled again by hand: the reason goes, replay works.
    r.script("/gone", json!([]), json!({"status": 200})).await;
    let enabled =
        w.c.patch(&format!("/v1/webhooks/{hook_id}"), json!({"enabled": true}))
            .await;
    assert_eq!(enabled.body["disabled_reason"], Value::Null);
    w.c.post(&format!("/v1/dead-letters/{letter}/replay"), json!({}))
        .await
        .assert_status(StatusCode::ACCEPTED);
    r.wait_for("/gone", 2).await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script(
        "/busy",
        json!([{"status": 429, "headers": {"Retry-After": "2"}}]),
        json!({"status": 200}),
    )
    .await;
    w.subscribe(&r.endpoint("/busy"), &["*"]).await;
    w.event("ticket.created", json!({})).await;
    let got = r.wait_for("/busy", 2).await;
    let gap = got[1]["received_at"].as_f64().unwrap() - got[0]["received_at"].as_f64().unwrap();
    // The configured delay is 50 ms: only Retry-After explains two seconds.
    assert!(gap >= 2.0, "the retry came after {gap} s");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script(
        "/moved",
        json!([]),
        json!({"status": 301, "headers": {"Location": r.endpoint("/elsewhere")}}),
    )
    .await;
    let hook = w.subscribe(&r.endpoint("/moved"), &["*"]).await;
    w.event("ticket.created", json!({})).await;
    let letters = eventually("a dead letter", || async {
        let l = w.dead_letters().await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(letters[0]["last_status_code"], 301);
    assert!(
        letters[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("redirect")
    );
    assert_eq!(letters[0]["webhook_id"], hook["id"]);
    assert!(r.received("/elsewhere").await.is_empty());
}

#[tokio::test]
async fn a_timeout_is_a_failure() {
    let app = TestApp::spawn_with(&[psa_notify::module()], |cfg| {
        fast(cfg);
        cfg.notify.timeout_ms = 300;
    })
    .await
    .unwrap();
    let w = World::with(app);
    let r = Receiver::start().await;
    r.script(
        "/slow",
        json!([{"status": 200, "delay_ms": 1500}]),
        json!({"status": 200}),
    )
    .await;
    let hook = w.subscribe(&r.endpoint("/slow"), &["*"]).await;
    let hook_id = hook["id"].as_str().unwrap();
    w.event("ticket.created", json!({})).await;
    let log = eventually("two attempts logged", || async {
        let log = attempts(&w, hook_id).await;
        (log.len() == 2).then_some(log)
    })
    .await;
    assert_eq!(log[0]["outcome"], "error");
    assert_eq!(log[0]["status_code"], Value::Null);
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 300 ms"),
        "{}",
        log[0]["error"]
    );
    assert_eq!(log[1]["outcome"], "delivered");
}

#[tokio::test]
async fn a_slow_receiver_slows_only_itself() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/slow", json!([]), json!({"status": 200, "delay_ms": 1000}))
        .await;
    w.subscribe(&r.endpoint("/slow"), &["slow.*"]).await;
    w.subscribe(&r.endpoint("/fast"), &["fast.*"]).await;
    for i in 0..12 {
        w.event("slow.thing", json!({"i": i})).await;
    }
    for i in 0..5 {
        w.event("fast.thing", json!({"i": i})).await;
    }
    r.wait_for("/fast", 5).await;
    // Four slots for the slow endpoint (the per-endpoint limit): at most
    // four of its twelve are under way, a second each.
    let slow = r.received("/slow").await.len();
    assert!(
        slow < 12,
        "the fast receiver waited for the slow one ({slow} slow deliveries first)"
    );
    r.wait_for("/slow", 12).await;
}
