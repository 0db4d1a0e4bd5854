//! Tickets and the assets module: a ticket's asset is checked against the
//! projection of the assets module's events, and an `asset.eol` notice
//! opens one ticket per asset, kind, threshold and date where the tenant
//! wants it.

use chrono::Utc;
use psa_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PERMS, project};

/// An asset as the assets module publishes it.
fn asset(customer: Uuid, name: &str) -> Value {
    let now = Utc::now();
    json!({"id": Uuid::now_v7(), "customer_id": customer, "site_id": null, "contact_id": null,
        "parent_id": null, "name": name, "type": "server", "manufacturer": "Dell",
        "model": "PowerEdge R740", "serial_number": "7XK2", "asset_tag": null,
        "status": "deployed", "purchase_date": null, "purchase_price": null, "currency": null,
        "warranty_end": "2030-01-31", "eol_date": null, "eol_source": null, "hostname": null,
        "os_name": null, "os_version": null, "last_seen_at": null, "notes": null,
        "custom_fields": {}, "external_ids": {}, "manual_fields": [], "version": 1,
        "created_at": now, "updated_at": now})
}

async fn apply(app: &TestApp, tenant: Uuid, event_type: &str, data: &Value) {
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let store = psa_kernel::Store::new(pool, psa_tickets::DB.schema);
    let mut tx = psa_kernel::Tx::for_tenant(&store, tenant).await.unwrap();
    psa_tickets::events::project(&mut tx, event_type, data)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_ticket_s_asset_must_be_its_customer_s() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (tenant, c) = app.new_tenant(PERMS);
    let customer = project(&app, tenant, false).await;
    let other = project(&app, tenant, false).await;
    let server = asset(customer, "srv-01");
    let foreign = asset(other, "srv-99");
    let res = c
        .post(
            "/v1/tickets",
            json!({"title": "Disk", "customer_id": customer, "asset_id": server["id"]}),
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_fields(), ["asset_id"], "not known yet");
    apply(&app, tenant, "asset.created", &server).await;
    apply(&app, tenant, "asset.created", &foreign).await;
    let ticket = c
        .create(
            "/v1/tickets",
            json!({"title": "Disk", "customer_id": customer, "asset_id": server["id"]}),
        )
        .await;
    let path = format!("/v1/tickets/{}", ticket["id"].as_str().unwrap());
    let res = c
        .patch(&path, json!({"asset_id": foreign["id"]}))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_fields(), ["asset_id"], "another customer's asset");
    apply(&app, tenant, "asset.deleted", &server).await;
    c.post(
        "/v1/tickets",
        json!({"title": "Again", "customer_id": customer, "asset_id": server["id"]}),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    c.patch(&path, json!({"asset_id": null}))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn an_eol_notice_opens_one_ticket_per_asset_and_threshold_when_the_tenant_wants_it() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (tenant, c) = app.new_tenant(PERMS);
    let customer = project(&app, tenant, false).await;
    let server = asset(customer, "srv-01");
    let notice = |threshold: i32, days_left: i64| {
        json!({"kind": "warranty", "threshold_days": threshold, "due_date": "2030-01-31",
            "days_left": days_left, "asset": server})
    };
    apply(&app, tenant, "asset.eol", &notice(30, 30)).await;
    assert!(c.all("/v1/tickets").await.is_empty(), "off by default");

    let s = c
        .patch(
            "/v1/tickets/settings",
            json!({"open_tickets_for_asset_eol": true,
            "asset_eol_priority": "high", "asset_eol_queue": "lifecycle"}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(s.body["version"], 2);
    apply(&app, tenant, "asset.eol", &notice(7, 7)).await;
    apply(&app, tenant, "asset.eol", &notice(7, 6)).await;
    let tickets = c.all("/v1/tickets").await;
    assert_eq!(tickets.len(), 1, "one per asset and threshold, never two");
    let t = &tickets[0];
    assert_eq!(t["asset_id"], server["id"]);
    assert_eq!(t["customer_id"], customer.to_string());
    assert_eq!(t["priority"], "high");
    assert_eq!(t["queue"], "lifecycle");
    assert_eq!(t["type"], "service_request");
    assert!(
        t["title"].as_str().unwrap().contains("srv-01"),
        "{}",
        t["title"]
    );
    apply(&app, tenant, "asset.eol", &notice(0, 0)).await;
    assert_eq!(c.all("/v1/tickets").await.len(), 2);
    let created: i64 =
        sqlx::query_scalar("select count(*) from tickets.outbox where type = 'ticket.created'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(created, 2, "each opened ticket is published");

    c.patch(
        "/v1/tickets/settings",
        json!({"asset_eol_priority": "urgent"}),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let (_, other) = app.new_tenant(PERMS);
    let theirs = other
        .get("/v1/tickets/settings")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(theirs.body["open_tickets_for_asset_eol"], false);
}
