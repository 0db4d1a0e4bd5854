//! Billing's state of time entries (`billable_item.updated`, published by
//! billing with tickets' type): an invoiced entry is frozen, an entry billing
//! takes back is editable again, a late older state changes nothing; the
//! entry's own version and events are not touched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use psa_events::CloudEvent;
use psa_events::outbox::Consumer;
use psa_testkit::{Client, TestApp, fixtures};
use psa_tickets::events::{BILLABLE_ITEM_UPDATED, BillableItemState, BillingStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PERMS, project};

/// The event billing publishes for a time entry, under `tenant`.
fn billing_event(tenant: Uuid, entry: Uuid, status: BillingStatus, version: i64) -> CloudEvent {
    let state = BillableItemState {
        time_entry_id: entry,
        status,
        invoice_id: (status == BillingStatus::Invoiced).then(Uuid::now_v7),
        version,
        // As Postgres keeps it.
        changed_at: Utc::now().trunc_subsecs(6),
    };
    CloudEvent::new(
        Uuid::now_v7(),
        "psa/billing",
        BILLABLE_ITEM_UPDATED.name,
        state.changed_at,
        &entry.to_string(),
        tenant,
        BILLABLE_ITEM_UPDATED.encode(&state).unwrap(),
    )
}

/// Tickets' consumer, as its worker runs it (handling one event at a time).
fn consumer(app: &TestApp) -> Consumer {
    Consumer {
        bus: Arc::new(app.bus()),
        pool: app.db.module_pool(&psa_tickets::module()).unwrap(),
        schema: psa_tickets::DB.schema,
        queue: "unused".into(),
        handler: psa_tickets::workers::handler(),
    }
}

/// A tenant's caller with a time entry booked on a ticket: the caller, the
/// tenant, the entry's path and the entry.
async fn booked(app: &TestApp) -> (Client, Uuid, String, Value) {
    let (tenant, c) = app.new_tenant(PERMS);
    let customer = project(app, tenant, false).await;
    let ticket = fixtures::ticket(&c, customer).await;
    let entry = c
        .create(
            &format!(
                "/v1/tickets/{}/time-entries",
                ticket["id"].as_str().unwrap()
            ),
            json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 45}),
        )
        .await;
    let path = format!("/v1/time-entries/{}", entry["id"].as_str().unwrap());
    (c, tenant, path, entry)
}

async fn time_entry_events(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("select type from tickets.outbox where type like 'time_entry.%' order by id")
        .fetch_all(&app.db.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invoiced_entry_is_frozen_until_billing_takes_it_back() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, tenant, path, entry) = booked(&app).await;
    let id = psa_testkit::id_of(&entry);
    let consumer = consumer(&app);

    let invoiced = billing_event(tenant, id, BillingStatus::Invoiced, 2);
    let invoiced_at = invoiced.data["changed_at"].clone();
    consumer.handle(invoiced).await.unwrap();
    let now = c.get(&path).await.assert_status(StatusCode::OK);
    assert_eq!(now["billed_at"], invoiced_at, "billed when invoiced");
    assert_eq!(now["version"], 1, "billing's state is no edit of the entry");
    assert_eq!(now["updated_at"], entry["updated_at"]);
    assert_eq!(now.etag(), Some("\"1\""));

    c.patch(&path, json!({"minutes": 50}))
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");
    c.delete(&path)
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");

    // A state older than the one applied (delivered late) changes nothing.
    consumer
        .handle(billing_event(tenant, id, BillingStatus::Approved, 1))
        .await
        .unwrap();
    assert_eq!(c.get(&path).await["billed_at"], invoiced_at);
    c.patch(&path, json!({"minutes": 50}))
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");

    // Taken off the invoice (a newer state): editable again.
    consumer
        .handle(billing_event(tenant, id, BillingStatus::Approved, 3))
        .await
        .unwrap();
    assert_eq!(c.get(&path).await["billed_at"], Value::Null);
    let patched = c
        .patch(&path, json!({"minutes": 50}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(patched["minutes"], 50);
    assert_eq!(patched["version"], 2);
    assert_eq!(
        time_entry_events(&app).await,
        ["time_entry.logged", "time_entry.updated"],
        "billing's states are announced by billing, not by tickets"
    );

    // An equal version is no newer either.
    consumer
        .handle(billing_event(tenant, id, BillingStatus::Invoiced, 3))
        .await
        .unwrap();
    assert_eq!(c.get(&path).await["billed_at"], Value::Null);

    consumer
        .handle(billing_event(tenant, id, BillingStatus::WrittenOff, 4))
        .await
        .unwrap();
    c.delete(&path).await.assert_status(StatusCode::NO_CONTENT);
    // A state for an entry that is gone is ignored, not an error (nor a
    // dead letter).
    consumer
        .handle(billing_event(tenant, id, BillingStatus::Invoiced, 5))
        .await
        .unwrap();
    consumer
        .handle(billing_event(
            tenant,
            Uuid::now_v7(),
            BillingStatus::Invoiced,
            1,
        ))
        .await
        .unwrap();
}

/// The state applies under the event's tenant only: another tenant's
/// event naming this entry finds nothing.
#[tokio::test]
async fn a_billing_state_applies_only_in_its_tenant() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, _tenant, path, entry) = booked(&app).await;
    let other = Uuid::now_v7();
    consumer(&app)
        .handle(billing_event(
            other,
            psa_testkit::id_of(&entry),
            BillingStatus::Invoiced,
            1,
        ))
        .await
        .unwrap();
    assert_eq!(c.get(&path).await["billed_at"], Value::Null);
    c.patch(&path, json!({"minutes": 46}))
        .await
        .assert_status(StatusCode::OK);
}

/// Over the bus: tickets' consumer binds `billable_item.*`, so billing's
/// event reaches it and freezes the entry.
#[tokio::test]
async fn billing_states_arrive_over_the_bus() {
    let app = TestApp::spawn_with(&[psa_tickets::module()], |cfg| {
        cfg.events.enabled = true;
    })
    .await
    .unwrap();
    let bus = app.bus();
    // The queue is bound before billing publishes (a fresh broker topology).
    bus.declare_queue(psa_tickets::PROJECTION_QUEUE, psa_tickets::CONSUMES, 5)
        .await
        .unwrap();
    let (c, tenant, path, entry) = booked(&app).await;
    bus.publish(&billing_event(
        tenant,
        psa_testkit::id_of(&entry),
        BillingStatus::Invoiced,
        1,
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = c.patch(&path, json!({"description": "late fix"})).await;
        if res.status == StatusCode::CONFLICT {
            res.assert_problem(StatusCode::CONFLICT, "time_entry_billed");
            break;
        }
        assert_eq!(res.status, StatusCode::OK, "{res}");
        assert!(
            Instant::now() < deadline,
            "billing's state never arrived: {res}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
