//! RMM inventory: upserts by (source, external id), heartbeats without
//! events, fields the MSP edited left alone, bad records reported while the
//! rest apply.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::World;

fn record(n: usize, extra: Value) -> Value {
    let mut r = json!({"source": "ninja", "external_id": format!("dev-{n}"),
        "customer_ref": "org-7", "hostname": format!("PC-{n:04}"),
        "serial_number": format!("SN{n:06}"), "manufacturer": "Dell Inc.",
        "model": "OptiPlex 7090", "os_name": "Windows 11 Pro", "os_version": "10.0.22631",
        "last_seen_at": "2026-12-01T08:00:00Z"});
    crate::merge(&mut r, extra);
    r
}

async fn events(w: &World, kind: &str) -> i64 {
    sqlx::query_scalar("select count(*) from assets.outbox where type = $1")
        .bind(kind)
        .fetch_one(&w.app.db.admin)
        .await
        .unwrap()
}

/// A service account of an RMM, allowed to import and nothing else.
fn rmm(w: &World) -> psa_testkit::Client {
    w.app.client_for(w.tenant, &["inventory:write"])
}

#[tokio::test]
async fn the_same_record_twice_is_one_asset_and_one_event() {
    let w = World::new().await;
    let customer = w.customer_in(w.tenant, json!({"ninja": "org-7"})).await;
    let contact = w.contact(customer, "Erika@Contoso.example").await;
    let rmm = rmm(&w);
    let body =
        json!({"records": [record(1, json!({"assigned_user_email": "erika@contoso.example"}))]});
    let first = rmm
        .post("/v1/inventory", &body)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(first.body["created"], 1);
    let asset_id = first.body["results"][0]["asset_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = rmm
        .post("/v1/inventory", &body)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(again.body["unchanged"], 1);
    assert_eq!(again.body["results"][0]["asset_id"], asset_id.as_str());
    assert_eq!(w.c.all("/v1/assets").await.len(), 1);
    assert_eq!(events(&w, "asset.created").await, 1);
    assert_eq!(events(&w, "asset.updated").await, 0);

    let asset =
        w.c.get(&format!("/v1/assets/{asset_id}"))
            .await
            .assert_status(StatusCode::OK)
            .body;
    assert_eq!(asset["customer_id"], customer.to_string());
    assert_eq!(asset["contact_id"], contact.to_string());
    assert_eq!(asset["name"], "PC-0001");
    assert_eq!(asset["type"], "workstation");
    assert_eq!(asset["external_ids"]["rmm:ninja"], "dev-1");
    assert_eq!(asset["version"], 1);

    // A heartbeat moves last_seen_at only: no version, no event.
    let beat = json!({"records": [record(1, json!({"assigned_user_email": "erika@contoso.example",
        "last_seen_at": "2026-12-01T09:00:00Z"}))]});
    let res = rmm
        .post("/v1/inventory", &beat)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["unchanged"], 1);
    let asset = w.c.get(&format!("/v1/assets/{asset_id}")).await.body;
    assert_eq!(asset["version"], 1);
    assert_eq!(asset["last_seen_at"], "2026-12-01T09:00:00Z");
    assert_eq!(events(&w, "asset.updated").await, 0);

    // A hand-edited name survives the next import; the OS is the RMM's.
    w.c.patch(
        &format!("/v1/assets/{asset_id}"),
        json!({"name": "Erika's PC"}),
    )
    .await
    .assert_status(StatusCode::OK);
    let upgraded = json!({"records": [record(1, json!({"os_version": "10.0.26100",
        "hostname": "PC-RENAMED"}))]});
    let res = rmm
        .post("/v1/inventory", &upgraded)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["updated"], 1);
    let asset = w.c.get(&format!("/v1/assets/{asset_id}")).await.body;
    assert_eq!(asset["name"], "Erika's PC");
    assert_eq!(asset["hostname"], "PC-RENAMED");
    assert_eq!(asset["os_version"], "10.0.26100");
    assert_eq!(
        events(&w, "asset.updated").await,
        2,
        "the hand edit and the import"
    );
}

#[tokio::test]
async fn bad_records_are_reported_and_the_rest_applied() {
    let w = World::new().await;
    w.customer_in(w.tenant, json!({"ninja": "org-7"})).await;
    w.c.create(
        "/v1/assets",
        json!({"customer_id": w.customer_in(w.tenant, json!({})).await,
        "name": "by hand", "type": "server", "manufacturer": "HP", "serial_number": "TAKEN"}),
    )
    .await;
    let records = json!({"records": [
        record(1, json!({})),
        record(2, json!({"customer_ref": "org-unknown"})),
        record(3, json!({"hostname": ""})),
        record(4, json!({"device_type": "toaster"})),
        {"source": "ninja", "external_id": "x", "unknown_field": 1},
        record(6, json!({"manufacturer": "Lenovo", "serial_number": "SN000001"})),
    ]});
    let res = rmm(&w)
        .post("/v1/inventory", &records)
        .await
        .assert_status(StatusCode::OK);
    let outcomes: Vec<&str> = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["created", "failed", "failed", "failed", "failed", "created"]
    );
    assert_eq!(res.body["results"][1]["errors"][0]["field"], "customer_ref");
    assert_eq!(res.body["results"][2]["errors"][0]["field"], "hostname");
    assert_eq!(res.body["results"][3]["errors"][0]["field"], "type");
    assert_eq!(
        (res.body["created"].as_u64(), res.body["failed"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(w.c.all("/v1/assets").await.len(), 3);

    // A device recorded by hand is adopted by its manufacturer and serial.
    let adopt =
        json!({"records": [record(9, json!({"manufacturer": "hp", "serial_number": "TAKEN"}))]});
    let res = rmm(&w)
        .post("/v1/inventory", &adopt)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["updated"], 1);
    assert_eq!(w.c.all("/v1/assets").await.len(), 3);

    for bad in [
        json!({"records": []}),
        json!({"records": (0..1001).map(|n| record(n, json!({}))).collect::<Vec<_>>()}),
        json!({"rows": []}),
    ] {
        rmm(&w)
            .post("/v1/inventory", &bad)
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let staff = w.app.client_for(w.tenant, &["assets:read", "assets:write"]);
    staff
        .post("/v1/inventory", &adopt)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_thousand_records_in_one_request() {
    let w = World::new().await;
    w.customer_in(w.tenant, json!({"ninja": "org-7"})).await;
    let records: Vec<Value> = (0..1000).map(|n| record(n, json!({}))).collect();
    let body = json!({"records": records});
    let res = rmm(&w)
        .send(
            rmm(&w)
                .request(reqwest::Method::POST, "/v1/inventory")
                .header("idempotency-key", "batch-1")
                .json(&body),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["created"], 1000);
    let again = rmm(&w)
        .send(
            rmm(&w)
                .request(reqwest::Method::POST, "/v1/inventory")
                .header("idempotency-key", "batch-1")
                .json(&body),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let count: i64 = sqlx::query_scalar("select count(*) from assets.assets")
        .fetch_one(&w.app.db.admin)
        .await
        .unwrap();
    assert_eq!(count, 1000);
}
