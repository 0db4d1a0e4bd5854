//! Deliveries as a receiver sees them: signed per Standard Webhooks and
//! verified by its reference library, during rotations too; the bus's
//! events reach their own tenant's subscriptions only.

use base64::Engine;
use serde_json::{Value, json};

use super::*;

/// A string of `len` characters drawn from ASCII, umlauts, CJK, emoji,
/// JSON's escapes and control characters.
fn unicode(len: usize) -> String {
    const CHARS: &[char] = &[
        'a', 'Z', '0', ' ', 'ä', 'ß', '€', '漢', '字', '😀', '𝄞', '"', '\\', '\n', '\t', '\u{1}',
        '/', '<',
    ];
    psa_authn::sealing::random_bytes::<64>()
        .iter()
        .cycle()
        .take(len)
        .enumerate()
        .map(|(i, b)| CHARS[(*b as usize + i * 7) % CHARS.len()])
        .collect()
}

#[tokio::test]
async fn fifty_events_verify_with_the_reference_library_and_tampering_does_not() {
    let w = World::new().await;
    let r = Receiver::start().await;
    let hook = w.subscribe(&r.endpoint("/all"), &["*"]).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    assert!(key.len() >= 24);
    r.secrets(&[&secret]).await;

    let mut sent = std::collections::BTreeMap::new();
    for i in 0..50 {
        let len = if i % 10 == 0 { 20 * 1024 } else { 1 + i * 13 };
        let data = json!({"n": i, "text": unicode(len), "nested": {"list": [unicode(3), i]}});
        let id = w.event(&format!("ticket.t{}", i % 3), data.clone()).await;
        sent.insert(id.to_string(), data);
    }
    let got = r.wait_for("/all", 50).await;
    assert_eq!(got.len(), 50, "each event once");
    for d in &got {
        assert_eq!(
            d["verified_with"],
            json!([0]),
            "not verified: {}",
            d["error"]
        );
        let id = d["webhook_id"].as_str().unwrap();
        let body: Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            &body["data"],
            sent.get(id).expect("webhook-id is the event id")
        );
        assert!(body["type"].as_str().unwrap().starts_with("ticket.t"));
        assert!(body["timestamp"].is_string());
    }

    // The same delivery, a byte of its body flipped: refused by the library.
    let original = &got[7];
    let mut body = original["body"].as_str().unwrap().as_bytes().to_vec();
    let at = body.len() / 2;
    body[at] ^= 0x01;
    let send = |body: Vec<u8>, timestamp: String, signature: String| {
        r.http
            .post(r.endpoint("/tampered"))
            .header("webhook-id", original["webhook_id"].as_str().unwrap())
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(body)
            .send()
    };
    send(
        body,
        original["webhook_timestamp"].as_str().unwrap().to_owned(),
        original["webhook_signature"].as_str().unwrap().to_owned(),
    )
    .await
    .unwrap();
    // Signed correctly, but ten minutes old: refused too.
    let old = chrono::Utc::now().timestamp() - 600;
    let body = original["body"].as_str().unwrap();
    let signature = psa_notify::domain::signing::signature_header(
        &[&key],
        original["webhook_id"].as_str().unwrap(),
        old,
        body,
    );
    send(body.as_bytes().to_vec(), old.to_string(), signature)
        .await
        .unwrap();
    let tampered = r.wait_for("/tampered", 2).await;
    for d in tampered {
        assert_eq!(d["verified_with"], json!([]), "{d}");
        assert!(d["error"].is_string());
    }
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify() {
    let w = World::new().await;
    let r = Receiver::start().await;
    let hook = w.subscribe(&r.endpoint("/rot"), &["ticket.*"]).await;
    let old = hook["secret"].as_str().unwrap().to_owned();
    let id = hook["id"].as_str().unwrap();
    let rotated =
        w.c.post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({}))
            .await
            .assert_status(StatusCode::OK);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["previous_secret_expires_at"].is_string());
    let shown = w.c.get(&format!("/v1/webhooks/{id}")).await;
    assert!(
        shown.body.get("secret").is_none(),
        "the secret is not shown again"
    );
    assert_eq!(
        shown.body["previous_secret_expires_at"],
        rotated.body["previous_secret_expires_at"]
    );

    // A receiver holding either secret verifies each delivery.
    r.secrets(&[&old, &new]).await;
    w.event("ticket.created", json!({"x": 1})).await;
    let got = r.wait_for("/rot", 1).await;
    assert_eq!(
        got[0]["verified_with"],
        json!([0, 1]),
        "{}",
        got[0]["error"]
    );
    assert_eq!(
        got[0]["webhook_signature"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );

    // After the grace period only the new secret signs.
    sqlx::query("update notify.webhooks set previous_until = now() - interval '1 second'")
        .execute(&w.app.db.admin)
        .await
        .unwrap();
    w.event("ticket.updated", json!({"x": 2})).await;
    let got = r.wait_for("/rot", 2).await;
    assert_eq!(got[1]["verified_with"], json!([1]), "{}", got[1]["error"]);
    assert_eq!(
        got[1]["webhook_signature"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        1
    );
}

#[tokio::test]
async fn events_from_the_bus_reach_their_own_tenant_s_subscriptions_only() {
    let w = World::with_events().await;
    let r = Receiver::start().await;
    let (other, other_c) = w.app.new_tenant(PERMS);
    w.subscribe(&r.endpoint("/mine"), &["ticket.*"]).await;
    other_c
        .create(
            "/v1/webhooks",
            json!({"url": r.endpoint("/theirs"), "event_types": ["*"]}),
        )
        .await;
    let bus = w.app.bus();
    // The fan-out's queue, as its consumer declares it: what is published
    // now waits there for the consumer.
    bus.declare_queue(
        psa_notify::FAN_OUT_QUEUE,
        psa_notify::events::CONSUMES,
        psa_notify::workers::FAN_OUT_DELIVERY_LIMIT,
    )
    .await
    .unwrap();
    let event = |tenant, event_type: &str| {
        psa_testkit::broker::event(tenant, event_type, json!({"tenant": tenant}))
    };
    let mine = event(w.tenant, "ticket.created");
    let not_subscribed = event(w.tenant, "invoice.released");
    let theirs = event(other, "ticket.created");
    for e in [&mine, &not_subscribed, &theirs] {
        bus.publish(e).await.unwrap();
    }
    let got_mine = r.wait_for("/mine", 1).await;
    let got_theirs = eventually("their own and the other tenant's event", || async {
        let got = r.received("/theirs").await;
        got.iter()
            .any(|d| d["webhook_id"] == json!(theirs.id.to_string()))
            .then_some(got)
    })
    .await;
    assert_eq!(got_mine[0]["webhook_id"], json!(mine.id.to_string()));
    // The other tenant's "*" subscription saw only its own events (its
    // webhook.created among them, none of ours).
    for d in &got_theirs {
        let body: Value = serde_json::from_str(d["body"].as_str().unwrap()).unwrap();
        assert_ne!(body["data"]["tenant"], json!(w.tenant), "{body}");
    }
    // Ours fanned out once, to ours: deliveries of our tenant.
    let store = w.store();
    let mut tx = psa_kernel::Tx::for_tenant(&store, w.tenant).await.unwrap();
    let ours: Vec<Uuid> = sqlx::query_scalar("select event_id from notify.deliveries")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ours, vec![mine.id]);
}

use axum::http::StatusCode;
