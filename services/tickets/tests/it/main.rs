//! Ticketing integration tests: real HTTP, Postgres and RabbitMQ.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use psa_events::{Bus, BusConfig};
use psa_testkit::{FaultProxy, TestApp};
use psa_tickets::domain::sla::{BusinessHoursDoc, Calendar};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const PERMS: &[&str] = &[
    "tickets:read",
    "tickets:write",
    "time:write",
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
];
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn sla() -> Value {
    let t = |r: u32, s: u32| json!({"response_minutes": r, "resolution_minutes": s});
    json!({"low": t(480, 4800), "medium": t(240, 1440), "high": t(60, 480), "critical": t(15, 240)})
}

fn hours() -> Value {
    let w: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "start": "08:00", "end": "17:00"}))
        .collect();
    json!({"time_zone": "Europe/Berlin", "windows": w})
}

/// Puts a customer (and optionally a contract) into the tickets projection, as CRM events would.
async fn project(app: &TestApp, tenant: Uuid, with_contract: bool) -> Uuid {
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let customer = Uuid::now_v7();
    let mut tx = psa_db::begin_tenant(&pool, tenant).await.unwrap();
    psa_tickets::service::project(
        &mut tx,
        "customer.created",
        &json!({"id": customer, "name": "Acme", "status": "active", "version": 1}),
    )
    .await
    .unwrap();
    if with_contract {
        psa_tickets::service::project(&mut tx, "contract.created", &json!({"id": Uuid::now_v7(), "customer_id": customer, "status": "active",
            "start_date": "2026-01-01", "end_date": null, "sla": sla(), "business_hours": hours(), "version": 1})).await.unwrap();
    }
    tx.commit().await.unwrap();
    customer
}

struct C<'a> {
    app: &'a TestApp,
    token: String,
}

impl C<'_> {
    async fn send(
        &self,
        m: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .app
            .http
            .request(m.clone(), self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = if m == reqwest::Method::PATCH {
                r.header("content-type", "application/merge-patch+json")
                    .body(b.to_string())
            } else {
                r.json(&b)
            };
        }
        let res = r.send().await.unwrap();
        let s = res.status();
        (s, res.json().await.unwrap_or(Value::Null))
    }
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn ticket_lifecycle_with_sla_from_the_contract() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let tenant = Uuid::now_v7();
    let customer = project(&app, tenant, true).await;
    let c = C {
        app: &app,
        token: app.token(tenant, PERMS),
    };

    let (s, t) = c.send(reqwest::Method::POST, "/v1/tickets", Some(json!({"title": "Printer on fire", "priority": "high", "customer_id": customer, "tags": ["hw"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["number"], "T-000001");
    assert_eq!(t["status"], "new");
    let cal =
        Calendar::from_doc(&serde_json::from_value::<BusinessHoursDoc>(hours()).unwrap()).unwrap();
    let created = at(&t["created_at"]);
    assert_eq!(
        at(&t["response_due_at"]),
        cal.add(created, 60),
        "high: 60 business minutes"
    );
    assert_eq!(at(&t["resolution_due_at"]), cal.add(created, 480));
    let (_, t2) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "Second", "customer_id": customer})),
        )
        .await;
    assert_eq!(t2["number"], "T-000002");

    let id = t["id"].as_str().unwrap();
    let path = format!("/v1/tickets/{id}");
    let (s, p) = c
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        p["detail"].as_str().unwrap().contains("allowed: open"),
        "{p}"
    );
    for next in [
        "open",
        "in_progress",
        "waiting",
        "in_progress",
        "resolved",
        "closed",
        "open",
    ] {
        let (s, p) = c
            .send(reqwest::Method::PATCH, &path, Some(json!({"status": next})))
            .await;
        assert_eq!(s, StatusCode::OK, "{next}: {p}");
    }

    let (s, _) = c
        .send(
            reqwest::Method::POST,
            &format!("{path}/comments"),
            Some(json!({"body": "looking", "visibility": "internal"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, now) = c.send(reqwest::Method::GET, &path, None).await;
    assert!(
        now["first_response_at"].is_null(),
        "internal notes are no response"
    );
    c.send(
        reqwest::Method::POST,
        &format!("{path}/comments"),
        Some(json!({"body": "on it", "visibility": "public"})),
    )
    .await;
    let (_, now) = c.send(reqwest::Method::GET, &path, None).await;
    assert!(
        now["first_response_at"].is_string(),
        "the first public comment stops the response clock"
    );

    let (s, e) = c
        .send(
            reqwest::Method::POST,
            &format!("{path}/time-entries"),
            Some(
                json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 45, "work_type": "remote"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let entry = e["id"].as_str().unwrap().to_owned();
    let (s, _) = c
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/time-entries/{entry}"),
            Some(json!({"minutes": 50})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    sqlx::query("update tickets.time_entries set billed_at = now() where id = $1")
        .bind(Uuid::parse_str(&entry).unwrap())
        .execute(&app.db.admin)
        .await
        .unwrap();
    let (s, _) = c
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/time-entries/{entry}"),
            Some(json!({"minutes": 55})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "billed entries are frozen");
    let (_, list) = c
        .send(
            reqwest::Method::GET,
            &format!("/v1/time-entries?ticket_id={id}"),
            None,
        )
        .await;
    assert_eq!(list["data"][0]["minutes"], 50);

    let (_, filtered) = c
        .send(
            reqwest::Method::GET,
            "/v1/tickets?status=open&priority=high",
            None,
        )
        .await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);

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
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let customer = project(&app, a, false).await;
    let ca = C {
        app: &app,
        token: app.token(a, PERMS),
    };
    let cb = C {
        app: &app,
        token: app.token(b, PERMS),
    };
    let (s, p) = cb
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "x", "customer_id": customer})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "A's customer is unknown to B: {p}"
    );
    assert_eq!(p["errors"][0]["field"], "customer_id");
    let (s, t) = ca
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "x", "customer_id": customer})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(t["response_due_at"].is_null(), "no contract, no SLA");
    let (s, _) = cb
        .send(
            reqwest::Method::GET,
            &format!("/v1/tickets/{}", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = cb.send(reqwest::Method::GET, "/v1/tickets", None).await;
    assert!(list["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn sla_breaches_are_reported_once_each() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let tenant = Uuid::now_v7();
    let customer = project(&app, tenant, true).await;
    let c = C {
        app: &app,
        token: app.token(tenant, PERMS),
    };
    let (_, t) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "Down", "priority": "critical", "customer_id": customer})),
        )
        .await;
    let (_, waiting) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "Paused", "priority": "critical", "customer_id": customer})),
        )
        .await;
    let wp = format!("/v1/tickets/{}", waiting["id"].as_str().unwrap());
    for s in ["open", "in_progress", "waiting"] {
        c.send(reqwest::Method::PATCH, &wp, Some(json!({"status": s})))
            .await;
    }
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let later = at(&t["resolution_due_at"]) + chrono::Duration::minutes(1);
    assert_eq!(
        psa_tickets::service::watch_sla_once(&pool, later)
            .await
            .unwrap(),
        2,
        "response and resolution"
    );
    assert_eq!(
        psa_tickets::service::watch_sla_once(&pool, later)
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

/// A bus straight to RabbitMQ with the app's prefix and throw-away topology.
fn bus(app: &TestApp) -> Bus {
    Bus::new(BusConfig {
        url: AMQP.into(),
        timeout: Duration::from_secs(5),
        ..app.config.events.bus()
    })
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
    bus(&tickets)
        .declare_queue(
            psa_tickets::PROJECTION_QUEUE,
            &["customer.*", "contract.*"],
            5,
        )
        .await
        .unwrap();
    let tenant = Uuid::now_v7();
    let in_crm = C {
        app: &crm,
        token: crm.token(tenant, PERMS),
    };
    let (_, customer) = in_crm
        .send(
            reqwest::Method::POST,
            "/v1/customers",
            Some(json!({"name": "Evented GmbH"})),
        )
        .await;
    let cid = customer["id"].as_str().unwrap().to_owned();
    let (s, _) = in_crm.send(reqwest::Method::POST, "/v1/contracts", Some(json!({"customer_id": cid, "name": "MSA", "type": "managed_services",
        "status": "active", "start_date": "2026-01-01", "currency": "EUR", "monthly_fee": "100.00", "sla": sla(), "business_hours": hours()}))).await;
    assert_eq!(s, StatusCode::CREATED);

    let in_tickets = C {
        app: &tickets,
        token: tickets.token(tenant, PERMS),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let ticket = loop {
        let (s, t) = in_tickets
            .send(
                reqwest::Method::POST,
                "/v1/tickets",
                Some(json!({"title": "Via events", "customer_id": cid})),
            )
            .await;
        if s == StatusCode::CREATED && t["response_due_at"].is_string() {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the projection never caught up: {s} {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(ticket["contract_id"].is_string());
    drop(crm);
    let (s, _) = in_tickets
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "CRM is gone", "customer_id": cid})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "tickets open for known customers while CRM is down"
    );
}

/// With RabbitMQ unreachable, 200 tickets are created; afterwards all 200
/// `ticket.created` events arrive, with no restart.
#[tokio::test]
async fn two_hundred_tickets_through_a_broker_outage() {
    let proxy = FaultProxy::start("127.0.0.1:5672".parse::<SocketAddr>().unwrap())
        .await
        .unwrap();
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let app = TestApp::spawn_with(&[psa_tickets::module()], move |cfg| {
        cfg.events.enabled = true;
        cfg.events.amqp_url = url;
        cfg.events.publish_timeout_ms = 1000;
    })
    .await
    .unwrap();
    let direct = bus(&app);
    let queue = direct
        .declare_queue("test.tickets", &["ticket.created"], 5)
        .await
        .unwrap();
    let tenant = Uuid::now_v7();
    let customer = project(&app, tenant, true).await;
    let c = C {
        app: &app,
        token: app.token(tenant, PERMS),
    };
    proxy.set_down(true);
    let started = Instant::now();
    for i in 0..200 {
        let (s, _) = c
            .send(
                reqwest::Method::POST,
                "/v1/tickets",
                Some(json!({"title": format!("t{i}"), "customer_id": customer})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let elapsed = started.elapsed();
    proxy.set_down(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ids = BTreeSet::new();
    let ch = direct.channel().await.unwrap();
    while ids.len() < 200 && Instant::now() < deadline {
        match ch
            .basic_get(
                queue.clone().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            Some(m) => {
                let e: psa_events::CloudEvent = serde_json::from_slice(&m.delivery.data).unwrap();
                ids.insert(e.id);
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(
        ids.len(),
        200,
        "all arrived, none missing (created in {elapsed:?})"
    );
}

/// Leaving `waiting` moves the open due times by the business time paused.
#[tokio::test]
async fn waiting_pauses_the_clocks() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let tenant = Uuid::now_v7();
    let customer = project(&app, tenant, true).await;
    let c = C {
        app: &app,
        token: app.token(tenant, PERMS),
    };
    let (_, t) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(
                json!({"title": "Waiting on customer", "priority": "low", "customer_id": customer}),
            ),
        )
        .await;
    let path = format!("/v1/tickets/{}", t["id"].as_str().unwrap());
    for s in ["open", "in_progress", "waiting"] {
        c.send(reqwest::Method::PATCH, &path, Some(json!({"status": s})))
            .await;
    }
    // The wait began last Monday 09:00 Berlin (a fixed, long business span).
    let since = DateTime::parse_from_rfc3339("2026-11-16T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    sqlx::query("update tickets.tickets set waiting_since = $1 where id = $2")
        .bind(since)
        .bind(Uuid::parse_str(t["id"].as_str().unwrap()).unwrap())
        .execute(&app.db.admin)
        .await
        .unwrap();
    let (s, back) = c
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let cal =
        Calendar::from_doc(&serde_json::from_value::<BusinessHoursDoc>(hours()).unwrap()).unwrap();
    let paused = cal.between(since, at(&back["updated_at"]));
    let expected = cal.add(at(&t["resolution_due_at"]), paused);
    let moved = at(&back["resolution_due_at"]);
    assert!(
        (moved - expected).num_minutes().abs() <= 1,
        "due {moved} expected {expected} after {paused} paused minutes"
    );
    assert!(moved > at(&t["resolution_due_at"]));
}

/// A consumer handling tenant A's event works inside A's row-level security:
/// it cannot write tenant B's rows.
#[tokio::test]
async fn a_consumer_cannot_write_another_tenant_s_rows() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let rogue: psa_events::outbox::Handler = std::sync::Arc::new(move |_event, conn| {
        Box::pin(async move {
            sqlx::query("insert into tickets.customers (tenant_id, id, name, status, version) values ($1, $2, 'x', 'active', 1)")
                .bind(b)
                .bind(Uuid::now_v7())
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let consumer = psa_events::outbox::Consumer {
        bus: std::sync::Arc::new(bus(&app)),
        pool: pool.clone(),
        schema: "tickets",
        queue: "unused".into(),
        handler: rogue,
    };
    let event = psa_events::CloudEvent::new(
        Uuid::now_v7(),
        "psa/crm",
        "customer.created",
        Utc::now(),
        "x",
        a,
        json!({}),
    );
    let err = consumer.handle(event).await.unwrap_err();
    assert!(err.contains("row-level security"), "{err}");
    let rows: i64 = sqlx::query_scalar("select count(*) from tickets.customers")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    let inbox: i64 = sqlx::query_scalar("select count(*) from tickets.inbox")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(
        (rows, inbox),
        (0, 0),
        "nothing written, not even the inbox record"
    );
}

/// Bad fields are 422 with every field named, on create, patch, comments
/// and time entries; nothing is written.
#[tokio::test]
async fn invalid_fields_are_named_and_nothing_is_written() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let tenant = Uuid::now_v7();
    let customer = project(&app, tenant, false).await;
    let c = C {
        app: &app,
        token: app.token(tenant, PERMS),
    };
    let fields = |p: &Value| -> Vec<String> {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, p) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(
                json!({"title": " ", "customer_id": customer, "queue": "", "tags": ["vip", "vip"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&p), ["title", "queue", "tags"]);
    let (_, list) = c.send(reqwest::Method::GET, "/v1/tickets", None).await;
    assert!(
        list["data"].as_array().unwrap().is_empty(),
        "nothing written"
    );

    let (s, t) = c
        .send(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(json!({"title": "Valid", "customer_id": customer})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let path = format!("/v1/tickets/{}", t["id"].as_str().unwrap());
    let (s, p) = c
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"assignee_id": "", "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&p), ["assignee_id", "tags"]);
    let (s, _) = c
        .send(
            reqwest::Method::POST,
            &format!("{path}/comments"),
            Some(json!({"body": "hello", "visibility": "secret"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, p) = c
        .send(
            reqwest::Method::POST,
            &format!("{path}/time-entries"),
            Some(json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 0, "work_type": " "})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&p), ["minutes", "work_type"]);
    let (_, now) = c.send(reqwest::Method::GET, &path, None).await;
    assert_eq!(now["version"], t["version"], "the ticket is unchanged");
}

/// Housekeeping keeps the inbox for 30 days (late duplicates are still
/// caught) and removes older entries, for every tenant.
#[tokio::test]
async fn housekeeping_trims_the_inbox_after_thirty_days() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    for (tenant, age) in [(Uuid::now_v7(), "31 days"), (Uuid::now_v7(), "29 days")] {
        sqlx::query(
            "insert into tickets.inbox (tenant_id, event_id, type, handled_at) values ($1, $2, 'customer.created', now() - $3::interval)",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(age)
        .execute(&app.db.admin)
        .await
        .unwrap();
    }
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    psa_db::housekeeping_once(&pool, "tickets").await.unwrap();
    let left: Vec<i32> =
        sqlx::query_scalar("select extract(day from now() - handled_at)::int from tickets.inbox")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(left, [29]);
}
