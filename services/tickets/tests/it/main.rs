//! Ticketing integration tests: real HTTP, Postgres and RabbitMQ.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use psa_crm::domain::contract::BusinessHours;
use psa_testkit::fixtures::{self, business_hours, sla_terms};
use psa_testkit::{Client, FaultProxy, TestApp};
use psa_tickets::domain::sla::Calendar;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

mod assets;
mod batch;
mod billing;
mod events;
mod kernel;
mod numbers;
mod robustness;

const PERMS: &[&str] = &[
    "tickets:read",
    "tickets:write",
    "time:write",
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
];

/// Puts a customer (and optionally a contract) into the tickets projection,
/// as CRM's events would: `data` is the resource as CRM publishes it.
async fn project(app: &TestApp, tenant: Uuid, with_contract: bool) -> Uuid {
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let customer = Uuid::now_v7();
    let now = Utc::now();
    let store = psa_kernel::Store::new(pool, psa_tickets::DB.schema);
    let mut tx = psa_kernel::Tx::for_tenant(&store, tenant).await.unwrap();
    psa_tickets::events::project(
        &mut tx,
        "customer.created",
        &json!({"id": customer, "customer_number": "C-000001", "name": "Acme", "status": "active",
            "external_ids": {}, "version": 1, "created_at": now, "updated_at": now}),
    )
    .await
    .unwrap();
    if with_contract {
        psa_tickets::events::project(&mut tx, "contract.created", &json!({"id": Uuid::now_v7(), "customer_id": customer,
            "name": "MSA", "type": "managed_services", "status": "active", "start_date": "2026-01-01", "end_date": null,
            "currency": "EUR", "hourly_rate": null, "monthly_fee": "990.00", "included_hours": null,
            "sla": sla_terms(), "business_hours": business_hours(), "version": 1, "created_at": now, "updated_at": now}))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    customer
}

/// A caller of a new tenant holding `PERMS`, with a customer the tickets
/// module knows (under an SLA contract if `with_contract`).
async fn caller_with_customer(app: &TestApp, with_contract: bool) -> (Client, Uuid) {
    let (tenant, c) = app.new_tenant(PERMS);
    (c, project(app, tenant, with_contract).await)
}

fn calendar() -> Calendar {
    Calendar::from_doc(&serde_json::from_value::<BusinessHours>(business_hours()).unwrap()).unwrap()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Walks a ticket through these statuses, each step asserted 200.
async fn move_through(c: &Client, path: &str, statuses: &[&str]) -> Value {
    let mut last = Value::Null;
    for status in statuses {
        last = c
            .patch(path, json!({"status": status}))
            .await
            .assert_status(StatusCode::OK)
            .body;
    }
    last
}

#[tokio::test]
async fn ticket_lifecycle_with_sla_from_the_contract() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, true).await;

    let t = c
        .create(
            "/v1/tickets",
            json!({"title": "Printer on fire", "priority": "high", "customer_id": customer, "tags": ["hw"]}),
        )
        .await;
    assert_eq!(t["number"], "T-000001");
    assert_eq!(t["status"], "new");
    let cal = calendar();
    let created = at(&t["created_at"]);
    assert_eq!(
        at(&t["response_due_at"]),
        cal.add(created, 60),
        "high: 60 business minutes"
    );
    assert_eq!(at(&t["resolution_due_at"]), cal.add(created, 480));
    let t2 = fixtures::ticket(&c, customer).await;
    assert_eq!(t2["number"], "T-000002");

    let id = t["id"].as_str().unwrap();
    let path = format!("/v1/tickets/{id}");
    let p = c
        .patch(&path, json!({"status": "closed"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
    assert!(
        p["detail"].as_str().unwrap().contains("allowed: open"),
        "{p}"
    );
    move_through(
        &c,
        &path,
        &[
            "open",
            "in_progress",
            "waiting",
            "in_progress",
            "resolved",
            "closed",
            "open",
        ],
    )
    .await;

    c.create(
        &format!("{path}/comments"),
        json!({"body": "looking", "visibility": "internal"}),
    )
    .await;
    assert!(
        c.get(&path).await["first_response_at"].is_null(),
        "internal notes are no response"
    );
    c.post(
        &format!("{path}/comments"),
        json!({"body": "on it", "visibility": "public"}),
    )
    .await;
    assert!(
        c.get(&path).await["first_response_at"].is_string(),
        "the first public comment stops the response clock"
    );

    let e = c
        .create(
            &format!("{path}/time-entries"),
            json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 45, "work_type": "remote"}),
        )
        .await;
    let entry = e["id"].as_str().unwrap().to_owned();
    c.patch(&format!("/v1/time-entries/{entry}"), json!({"minutes": 50}))
        .await
        .assert_status(StatusCode::OK);
    sqlx::query("update tickets.time_entries set billed_at = now() where id = $1")
        .bind(Uuid::parse_str(&entry).unwrap())
        .execute(&app.db.admin)
        .await
        .unwrap();
    // Billed entries are frozen.
    c.patch(&format!("/v1/time-entries/{entry}"), json!({"minutes": 55}))
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");
    let list = c.get(&format!("/v1/time-entries?ticket_id={id}")).await;
    assert_eq!(list.items()[0]["minutes"], 50);

    let filtered = c.get("/v1/tickets?status=open&priority=high").await;
    assert_eq!(filtered.items().len(), 1);

    let types: Vec<String> =
        sqlx::query_scalar("select type from tickets.outbox order by created_at, id")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    for t in [
        "ticket.created",
        "ticket.status_changed",
        "ticket.comment_added",
        "time_entry.logged",
        "ticket.updated",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
}

#[tokio::test]
async fn unknown_customers_and_other_tenants() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (ca, customer) = caller_with_customer(&app, false).await;
    let (_, cb) = app.new_tenant(PERMS);
    // A's customer is unknown to B.
    let p = cb
        .post("/v1/tickets", fixtures::ticket_body(customer))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_customer");
    assert_eq!(p.error_fields(), ["customer_id"]);
    let t = fixtures::ticket(&ca, customer).await;
    assert!(t["response_due_at"].is_null(), "no contract, no SLA");
    cb.get(&format!("/v1/tickets/{}", t["id"].as_str().unwrap()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert!(cb.get("/v1/tickets").await.items().is_empty());
}

#[tokio::test]
async fn sla_breaches_are_reported_once_each() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, true).await;
    let t = c
        .create(
            "/v1/tickets",
            json!({"title": "Down", "priority": "critical", "customer_id": customer}),
        )
        .await;
    let waiting = c
        .create(
            "/v1/tickets",
            json!({"title": "Paused", "priority": "critical", "customer_id": customer}),
        )
        .await;
    let wp = format!("/v1/tickets/{}", waiting["id"].as_str().unwrap());
    move_through(&c, &wp, &["open", "in_progress", "waiting"]).await;
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let later = at(&t["resolution_due_at"]) + chrono::Duration::minutes(1);
    assert_eq!(
        psa_tickets::workers::watch_sla_once(&pool, later)
            .await
            .unwrap(),
        2,
        "response and resolution"
    );
    assert_eq!(
        psa_tickets::workers::watch_sla_once(&pool, later)
            .await
            .unwrap(),
        0,
        "never twice"
    );
    let breaches: Vec<Value> =
        sqlx::query_scalar("select payload from tickets.outbox where type = 'ticket.sla_breached'")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    let kinds: BTreeSet<&str> = breaches
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["response", "resolution"]));
    assert!(
        breaches.iter().all(|b| b["ticket"]["id"] == t["id"]),
        "the waiting ticket's clocks are paused"
    );
}

/// CRM and tickets as separate processes over the bus: a contract made in
/// CRM gives tickets their due times; with CRM gone, tickets still open.
#[tokio::test]
async fn crm_events_feed_tickets_which_survive_crm_going_away() {
    let prefix = format!("psa.test.{}.", Uuid::new_v4().simple());
    let (p1, p2) = (prefix.clone(), prefix.clone());
    let crm = TestApp::spawn_with(&[psa_crm::module()], move |cfg| {
        cfg.events.enabled = true;
        cfg.events.prefix = p1;
    })
    .await
    .unwrap();
    let tickets = TestApp::spawn_with(&[psa_tickets::module()], move |cfg| {
        cfg.events.enabled = true;
        cfg.events.prefix = p2;
    })
    .await
    .unwrap();
    // The projection queue exists before CRM publishes (a fresh broker topology).
    tickets
        .bus()
        .declare_queue(
            psa_tickets::PROJECTION_QUEUE,
            &["customer.*", "contract.*"],
            5,
        )
        .await
        .unwrap();
    let tenant = Uuid::now_v7();
    let in_crm = crm.client_for(tenant, PERMS);
    let customer = fixtures::customer(&in_crm, "Evented GmbH").await;
    let cid = customer["id"].as_str().unwrap().to_owned();
    fixtures::contract(&in_crm, &cid).await;

    let in_tickets = tickets.client_for(tenant, PERMS);
    let deadline = Instant::now() + Duration::from_secs(20);
    let ticket = loop {
        let t = in_tickets
            .post(
                "/v1/tickets",
                json!({"title": "Via events", "customer_id": cid}),
            )
            .await;
        if t.status == StatusCode::CREATED && t["response_due_at"].is_string() {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the projection never caught up: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(ticket["contract_id"].is_string());
    drop(crm);
    let res = in_tickets
        .post(
            "/v1/tickets",
            json!({"title": "CRM is gone", "customer_id": cid}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "tickets open for known customers while CRM is down: {res}"
    );
}
