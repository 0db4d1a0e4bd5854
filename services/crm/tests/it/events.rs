//! The event backbone with the CRM as publisher: outbox atomicity, relay
//! through a broker outage, the archive, returned events, the wake-up on
//! commit, the crash window, poison messages, and the CloudEvents shape.
//! Real RabbitMQ, per-test prefixes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use psa_events::CloudEvent;
use psa_events::outbox::{Consumer, Relay, RelayError};
use psa_testkit::broker::take_n;
use psa_testkit::{FaultProxy, TestApp, fixtures};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::{ALL, caller};

mod relay;

async fn app_with_events(url: Option<String>) -> TestApp {
    TestApp::spawn_with(&[psa_crm::module()], move |cfg| {
        cfg.events.enabled = true;
        cfg.events.publish_timeout_ms = 1000;
        if let Some(u) = url {
            cfg.events.amqp_url = u;
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn committed_changes_publish_once_and_failed_ones_not_at_all() {
    let app = app_with_events(None).await;
    let bus = app.bus();
    let queue = bus
        .declare_queue("test.customers", &["customer.*"], 3)
        .await
        .unwrap();
    let (tenant, c) = app.new_tenant(ALL);
    let cust = c
        .create(
            "/v1/customers",
            json!({"name": "Evented", "customer_number": "E-1"}),
        )
        .await;
    c.post(
        "/v1/customers",
        json!({"name": "Dup", "customer_number": "E-1"}),
    )
    .await
    .assert_status(StatusCode::CONFLICT);
    let rows: i64 = sqlx::query_scalar("select count(*) from crm.outbox")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the failed request left no outbox row");

    // (`take` asserts that each message_id is its event's id.)
    let got = take_n(&bus, &queue, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let event = &got[0];
    assert_eq!(event.event_type, "customer.created");
    assert_eq!(event.source, "psa/crm");
    assert_eq!(event.specversion, "1.0");
    assert_eq!(event.tenantid, tenant);
    assert_eq!(event.subject, cust["id"].as_str().unwrap());
    assert_eq!(
        event.data["name"], "Evented",
        "data is the resource as GET returns it"
    );
    let stray = take_n(&bus, &queue, 1, Duration::from_millis(500)).await;
    assert!(stray.is_empty(), "exactly one message");
}

/// Billing's fields ride along: the data of `customer.updated` and
/// `contract.*` is the resource with them, and decodes as the CRM's own
/// type. Data published before they existed still decodes, with their
/// defaults.
#[tokio::test]
async fn event_data_carries_the_billing_fields() {
    let app = crate::app().await;
    let c = caller(&app);
    let cust = fixtures::customer(&c, "Billed").await;
    let id = cust["id"].as_str().unwrap();
    let customer = c
        .patch(
            &format!("/v1/customers/{id}"),
            json!({"vat_id": "DE123456789", "vat_treatment": "reverse_charge",
                "leitweg_id": "991-01234-44", "tax_number": "21/815/08150",
                "payment_terms_days": 21, "invoice_email": "ap@billed.example",
                "einvoice_format": "xrechnung",
                "billing_address": {"line1": "Postfach 1", "city": "Bonn", "country": "DE"}}),
        )
        .await
        .assert_status(StatusCode::OK)
        .body;
    let mut body = fixtures::contract_body(id);
    body["billing_increment_minutes"] = json!(30);
    let created = c.create("/v1/contracts", body).await;
    let contract = c
        .patch(
            &format!("/v1/contracts/{}", created["id"].as_str().unwrap()),
            json!({"billing_day": 15}),
        )
        .await
        .assert_status(StatusCode::OK)
        .body;

    let payload = |event_type: &'static str| {
        let pool = app.db.admin.clone();
        async move {
            sqlx::query_scalar::<_, serde_json::Value>(
                "select payload from crm.outbox where type = $1 order by id desc limit 1",
            )
            .bind(event_type)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let updated = payload("customer.updated").await;
    assert_eq!(
        updated, customer,
        "the data is the customer as PATCH answered"
    );
    let typed = psa_crm::events::CUSTOMER_UPDATED.decode(&updated).unwrap();
    assert_eq!(typed.vat_id.as_deref(), Some("DE123456789"));
    assert_eq!(typed.leitweg_id.as_deref(), Some("991-01234-44"));
    assert_eq!(typed.payment_terms_days, Some(21));
    assert_eq!(
        typed.vat_treatment,
        psa_crm::domain::customer::VatTreatment::ReverseCharge
    );
    assert_eq!(
        typed.einvoice_format,
        psa_crm::domain::customer::EinvoiceFormat::Xrechnung
    );
    assert_eq!(typed.billing_address.unwrap().0.city, "Bonn");

    let first = payload("contract.created").await;
    assert_eq!(first, created);
    assert_eq!(
        (
            first["billing_increment_minutes"].clone(),
            first["billing_day"].clone()
        ),
        (json!(30), json!(1))
    );
    let changed = payload("contract.updated").await;
    assert_eq!(changed, contract);
    let typed = psa_crm::events::CONTRACT_UPDATED.decode(&changed).unwrap();
    assert_eq!(
        (typed.billing_increment_minutes, typed.billing_day),
        (30, 15)
    );

    // An event of an older CRM, before these fields.
    let mut old = updated.clone();
    let mut old_contract = changed.clone();
    for field in [
        "vat_id",
        "tax_number",
        "leitweg_id",
        "payment_terms_days",
        "invoice_email",
        "einvoice_format",
        "vat_treatment",
        "billing_address",
    ] {
        old.as_object_mut().unwrap().remove(field);
    }
    for field in ["billing_increment_minutes", "billing_day"] {
        old_contract.as_object_mut().unwrap().remove(field);
    }
    let typed = psa_crm::events::CUSTOMER_UPDATED.decode(&old).unwrap();
    assert_eq!(
        (typed.vat_id, typed.vat_treatment, typed.einvoice_format),
        (
            None,
            psa_crm::domain::customer::VatTreatment::Standard,
            psa_crm::domain::customer::EinvoiceFormat::Zugferd
        )
    );
    let typed = psa_crm::events::CONTRACT_UPDATED
        .decode(&old_contract)
        .unwrap();
    assert_eq!(
        (typed.billing_increment_minutes, typed.billing_day),
        (15, 1)
    );
}

#[tokio::test]
async fn a_broker_outage_delays_events_and_loses_none() {
    let proxy = FaultProxy::start(psa_testkit::broker::amqp_addr())
        .await
        .unwrap();
    let url = psa_testkit::broker::amqp_url_via(proxy.addr);
    let app = app_with_events(Some(url)).await;
    let direct = app.bus();
    let queue = direct
        .declare_queue("test.outage", &["customer.created"], 3)
        .await
        .unwrap();
    let c = caller(&app);
    proxy.set_down(true);
    for i in 0..200 {
        let res = c
            .post("/v1/customers", json!({"name": format!("offline-{i}")}))
            .await;
        assert_eq!(
            res.status,
            StatusCode::CREATED,
            "writes succeed while the broker is away: {res}"
        );
    }
    proxy.set_down(false);
    let got = take_n(&direct, &queue, 200, Duration::from_secs(30)).await;
    let ids: BTreeSet<Uuid> = got.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 200, "every event arrived, no restart needed");
}

async fn pending(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from crm.outbox where sent_at is null")
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// Polls until the CRM's outbox has nothing pending, or fails after `within`.
async fn until_drained(app: &TestApp, within: Duration) {
    let deadline = Instant::now() + within;
    while pending(app).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the outbox still has events pending after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With no consumer bound, an event still leaves the outbox: the archive
/// stream takes every type, and a reader started later finds it there.
#[tokio::test]
async fn events_nobody_consumes_are_archived_not_left_pending() {
    let app = app_with_events(None).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let customer = fixtures::customer(&caller(&app), "Nobody listens").await;
    until_drained(&app, Duration::from_secs(10)).await;

    let bus = app.bus();
    let archived = bus
        .read_archive(before, |e| e.event_type == "customer.created")
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), archived.boxed().next())
        .await
        .expect("the archive has the event")
        .unwrap()
        .unwrap();
    assert_eq!(first.subject, customer["id"].as_str().unwrap());
    assert_eq!(first.source, "psa/crm");
}

/// A return despite the archive means a broken broker setup: the event stays
/// pending, retried later with a delay, and it is counted and logged as an
/// error; once something takes it again, it is delivered.
#[tokio::test]
async fn a_return_keeps_the_event_pending_and_raises_the_alarm() {
    let app = app_with_events(None).await;
    let bus = app.bus();
    let c = caller(&app);
    // The relay has declared its topology once the first event left.
    fixtures::customer(&c, "Routable").await;
    until_drained(&app, Duration::from_secs(10)).await;
    // Without the archive, no binding takes customer events. (Another
    // binding keeps the per-test exchange, which goes with its last one.)
    bus.declare_queue("test.other", &["other.thing"], 3)
        .await
        .unwrap();
    bus.delete_archive().await.unwrap();

    fixtures::customer(&c, "Returned").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.anonymous().get("/metrics").await.text;
        if metrics.contains("psa_outbox_unroutable_total") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay never reported the returned event"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending(&app).await, 1, "kept pending, not dropped");
    let (attempts, deferred): (i32, bool) = sqlx::query_as(
        "select attempts, next_attempt_at > now() - interval '1 minute' from crm.outbox where sent_at is null",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert!(
        attempts >= 1 && deferred,
        "retried later with a delay, not in a hot loop"
    );

    let queue = bus
        .declare_queue("test.late", &["customer.#"], 3)
        .await
        .unwrap();
    let got = take_n(&bus, &queue, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "delivered once something takes it");
    assert_eq!(got[0].data["name"], "Returned");
    until_drained(&app, Duration::from_secs(5)).await;
}

/// The relay is woken by the commit: with a fallback poll of an hour, the
/// event still arrives within seconds, and the relay counts the wake-up as
/// a notification. A commit can also land just while the relay looks by
/// itself (then it publishes without a wake-up, and may have stopped asking
/// for one): each round waits until the relay asks again, and one of a few
/// commits must be taken by a notification.
#[tokio::test]
async fn a_commit_wakes_the_relay() {
    let app = TestApp::spawn_with(&[psa_crm::module()], |cfg| {
        cfg.events.enabled = true;
        cfg.events.relay_poll_ms = 3_600_000;
    })
    .await
    .unwrap();
    let bus = app.bus();
    let queue = bus
        .declare_queue("test.woken", &["customer.*"], 3)
        .await
        .unwrap();
    let notified = || async {
        let metrics = app.anonymous().get("/metrics").await.text;
        metrics.lines().any(|l| {
            l.starts_with("psa_outbox_relay_wakeups_total")
                && l.contains(r#"cause="notify""#)
                && l.contains(r#"schema="crm""#)
        })
    };
    for round in 0..5 {
        // Once the relay waits for a wake-up, it has asked writers to notify.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let asked: Option<bool> =
                sqlx::query_scalar("select listening_until > now() from crm._psa_outbox_relay")
                    .fetch_optional(&app.db.admin)
                    .await
                    .unwrap()
                    .flatten();
            if asked == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "the relay never started waiting");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        fixtures::customer(&caller(&app), &format!("Woken {round}")).await;
        let got = take_n(&bus, &queue, 1, Duration::from_secs(10)).await;
        assert_eq!(got.len(), 1, "arrived long before the hourly poll");
        // (Counted when the relay takes the wake-up, which may come just
        // after a look of its own has already published the event.)
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if notified().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("the relay was never woken by a notification in five commits");
}

/// Where a consumer records handled events and its effects (a test schema).
async fn test_consumer_tables(app: &TestApp) {
    for sql in [
        "create schema evtest",
        "create table evtest.inbox (tenant_id uuid not null default nullif(current_setting('app.tenant_id', true), '')::uuid,
            event_id uuid not null, type text not null, primary key (tenant_id, event_id))",
        "create table evtest.effects (tenant_id uuid not null default nullif(current_setting('app.tenant_id', true), '')::uuid,
            subject text not null)",
    ] {
        sqlx::query(sql).execute(&app.db.admin).await.unwrap();
    }
}

fn record_effect() -> psa_events::outbox::Handler {
    Arc::new(|event: CloudEvent, conn| {
        async move {
            if event.subject == "poison" {
                return Err("this message can never be handled".to_owned());
            }
            sqlx::query("insert into evtest.effects (subject) values ($1)")
                .bind(&event.subject)
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        .boxed()
    })
}
