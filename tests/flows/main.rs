//! End-to-end flows of ARCHITECTURE.md across the modules, each module its
//! own server behind the gateway, events through the real RabbitMQ, callers
//! with real client-credentials tokens.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use psa_e2e::Platform;
use psa_testkit::broker::take;
use psa_testkit::{Client, FaultProxy, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod assets;
mod billing;

const STAFF: &[&str] = &[
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
    "tickets:read",
    "tickets:write",
    "time:write",
];

/// How long events and projections may take to travel.
const PATIENCE: Duration = Duration::from_secs(20);

/// Opens a ticket once the tickets module has learnt of the customer (and,
/// with `due`, of its contract) from CRM's events.
async fn open_ticket(staff: &Client, customer: &str, due: bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let t = staff
            .post(
                "/v1/tickets",
                json!({"title": "Mail is down", "priority": "high", "customer_id": customer}),
            )
            .await;
        if t.status == StatusCode::CREATED && (!due || t["response_due_at"].is_string()) {
            return t.body;
        }
        assert!(
            t.status == StatusCode::UNPROCESSABLE_ENTITY || t.status == StatusCode::CREATED,
            "only 'unknown customer' while the projection catches up: {t}"
        );
        assert!(Instant::now() < deadline, "tickets never learnt of it: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Flow 1 (ticket lifecycle): a service account signs in, sets up a customer
/// and contract in CRM, opens a ticket whose SLA due times come from that
/// contract (learnt over the bus), works it, and every write is audited.
#[tokio::test]
async fn ticket_lifecycle_across_modules() {
    let p = Platform::start(|_| {}).await;
    let bus = p.gw.bus();
    let queue = bus
        .declare_queue(
            "e2e.tickets",
            &["ticket.created", "ticket.status_changed"],
            3,
        )
        .await
        .expect("a queue");
    let tenant = p.tenant().await;
    let staff = tenant.service_account(STAFF).await;

    let customer = staff
        .create(
            "/v1/customers",
            json!({"name": "Contoso AG", "customer_number": "C-1"}),
        )
        .await;
    let cid = customer["id"].as_str().expect("an id");
    let c = fixtures::contract(&staff, cid).await;

    let ticket = open_ticket(&staff, cid, true).await;
    let tid = ticket["id"].as_str().expect("an id").to_owned();
    assert_eq!(ticket["contract_id"], c["id"], "the contract's SLA applies");
    assert!(
        ticket["number"]
            .as_str()
            .expect("a number")
            .starts_with("T-")
    );
    let path = format!("/v1/tickets/{tid}");
    for status in ["open", "in_progress"] {
        staff
            .patch(&path, json!({"status": status}))
            .await
            .assert_status(StatusCode::OK);
    }
    staff
        .create(
            &format!("{path}/comments"),
            json!({"body": "Looking into it", "visibility": "public"}),
        )
        .await;
    staff
        .create(
            &format!("{path}/time-entries"),
            json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 30, "description": "Restarted the relay"}),
        )
        .await;
    let now = staff.get(&path).await.assert_status(StatusCode::OK);
    assert_eq!(now["status"], "in_progress");
    assert!(
        now["first_response_at"].is_string(),
        "the public reply stopped the response clock"
    );

    // (Tickets opened while the contract was still on its way have their own
    // events; this ticket's are the ones that matter.)
    let mine = |got: &[psa_events::CloudEvent]| -> Vec<psa_events::CloudEvent> {
        got.iter().filter(|e| e.subject == tid).cloned().collect()
    };
    let events = mine(&take(&bus, &queue, PATIENCE, |got| mine(got).len() >= 3).await);
    let seen: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        seen,
        [
            "ticket.created",
            "ticket.status_changed",
            "ticket.status_changed"
        ]
    );
    assert!(events.iter().all(|e| e.tenantid == tenant.id));
    assert_eq!(events[0].data["id"], ticket["id"], "data is the resource");
    assert_eq!(events[2].data["status"], "in_progress");

    // The gateway audited every write (the two ticket attempts that raced
    // the projection included), none of the reads.
    let deadline = Instant::now() + Duration::from_secs(10);
    let audited = loop {
        let page = tenant
            .admin
            .get("/v1/audit-log?limit=100")
            .await
            .assert_status(StatusCode::OK);
        let writes: Vec<(String, i64)> = page
            .items()
            .iter()
            .map(|r| {
                (
                    format!(
                        "{} {}",
                        r["method"].as_str().unwrap_or(""),
                        r["path"].as_str().unwrap_or("")
                    ),
                    r["status"].as_i64().unwrap_or(0),
                )
            })
            .filter(|(w, _)| !w.contains("/v1/service-accounts"))
            .collect();
        if writes.iter().any(|(w, _)| w.ends_with("/time-entries")) || Instant::now() > deadline {
            break writes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for write in [
        "POST /v1/customers",
        "POST /v1/contracts",
        "POST /v1/tickets",
        &format!("PATCH {path}"),
        &format!("POST {path}/comments"),
        &format!("POST {path}/time-entries"),
    ] {
        assert!(
            audited
                .iter()
                .any(|(w, s)| w == write && (200..300).contains(s)),
            "{write} audited: {audited:?}"
        );
    }
    assert!(audited.iter().all(|(w, _)| !w.starts_with("GET")));
}

/// Tenant isolation across every module, through the gateway, with real
/// tokens: tenant B neither sees nor changes tenant A's data anywhere.
#[tokio::test]
async fn tenants_are_separated_in_every_module() {
    let p = Platform::start(|_| {}).await;
    let (ta, tb) = (p.tenant().await, p.tenant().await);
    let (a, b) = (
        ta.service_account(STAFF).await,
        tb.service_account(STAFF).await,
    );
    let customer = fixtures::customer(&a, "A's customer").await;
    let cid = customer["id"].as_str().expect("an id");
    let c = fixtures::contract(&a, cid).await;
    let ticket = open_ticket(&a, cid, true).await;
    let a_sa = ta.admin.get("/v1/service-accounts").await.items()[0]["id"]
        .as_str()
        .expect("A's account")
        .to_owned();

    let theirs = [
        format!("/v1/customers/{cid}"),
        format!("/v1/contracts/{}", c["id"].as_str().expect("an id")),
        format!("/v1/tickets/{}", ticket["id"].as_str().expect("an id")),
        format!(
            "/v1/tickets/{}/comments",
            ticket["id"].as_str().expect("an id")
        ),
    ];
    for path in &theirs {
        assert_eq!(
            b.get(path).await.status,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    for (path, change) in theirs.iter().zip([
        json!({"name": "taken"}),
        json!({"name": "taken"}),
        json!({"title": "taken"}),
    ]) {
        let res = b.patch(path, change).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "PATCH {path}: {res}");
    }
    for list in [
        "/v1/customers",
        "/v1/contracts",
        "/v1/tickets",
        "/v1/time-entries",
    ] {
        let page = b.get(list).await;
        assert_eq!(page.status, StatusCode::OK, "{list}");
        assert!(page.items().is_empty(), "{list} shows B nothing of A's");
    }
    tb.admin
        .get(&format!("/v1/service-accounts/{a_sa}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // B cannot open a ticket for A's customer: it is not B's customer.
    let res = b.post("/v1/tickets", fixtures::ticket_body(cid)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(
        a.get(&theirs[2]).await["title"],
        ticket["title"],
        "A's data is untouched"
    );
}

/// Failure of backing parts: with CRM stopped and RabbitMQ unreachable,
/// CRM's routes fail cleanly (503) while tickets keep being opened for known
/// customers; when both are back, every event arrives and CRM answers again,
/// with nothing restarted but what was stopped.
#[tokio::test]
async fn crm_and_broker_down_leave_ticketing_working() {
    let proxy = FaultProxy::start(psa_testkit::broker::amqp_addr())
        .await
        .expect("a proxy");
    let amqp = psa_testkit::broker::amqp_url_via(proxy.addr);
    let p = Platform::start(move |cfg| {
        cfg.events.amqp_url = amqp;
        cfg.events.publish_timeout_ms = 1000;
    })
    .await;
    let bus = p.gw.bus();
    let queue = bus
        .declare_queue("e2e.created", &["ticket.created"], 3)
        .await
        .expect("a queue");
    let tenant = p.tenant().await;
    let staff = tenant.service_account(STAFF).await;
    let customer = fixtures::customer(&staff, "Known GmbH").await;
    let cid = customer["id"].as_str().expect("an id");
    let first = open_ticket(&staff, cid, false).await;

    proxy.set_down(true);
    p.stop("crm").await;
    let down = staff
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(down.header("retry-after").is_some());
    let mut ids = BTreeSet::from([first["id"].as_str().expect("an id").to_owned()]);
    for i in 0..5 {
        let t = staff
            .create(
                "/v1/tickets",
                json!({"title": format!("during the outage {i}"), "customer_id": cid}),
            )
            .await;
        ids.insert(t["id"].as_str().expect("an id").to_owned());
    }

    proxy.set_down(false);
    p.restart("crm").await;
    assert_eq!(
        staff.get(&format!("/v1/customers/{cid}")).await.status,
        StatusCode::OK,
        "CRM is back behind the same gateway"
    );
    let events = take(&bus, &queue, PATIENCE, |got| {
        got.iter()
            .map(|e| e.subject.clone())
            .collect::<BTreeSet<_>>()
            .len()
            >= ids.len()
    })
    .await;
    let arrived: BTreeSet<String> = events.iter().map(|e| e.subject.clone()).collect();
    assert_eq!(arrived, ids, "every ticket.created arrived, none lost");
}

/// API keys in the microservices layout: the gateway exchanges the key at
/// the auth module over HTTP, the modules accept the resulting token with
/// exactly the key's scope, and the key's own rate limit applies.
#[tokio::test]
async fn api_keys_work_across_separate_services() {
    let p = Platform::start(|_| {}).await;
    let tenant = p.tenant().await;
    let staff = tenant.service_account(STAFF).await;
    fixtures::customer(&staff, "Keyed AG").await;
    let created =
        fixtures::api_key(&tenant.admin, &["customers:read", "tickets:read"], Some(3)).await;
    let key =
        p.gw.client(created["key"].as_str().expect("the key, shown once"));
    let page = key.get("/v1/customers").await.assert_status(StatusCode::OK);
    assert_eq!(page.items()[0]["name"], "Keyed AG", "the key's tenant");
    key.get("/v1/tickets").await.assert_status(StatusCode::OK);
    let res = key.post("/v1/customers", json!({"name": "x"})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "the key's scope holds");
    let limited = key
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        staff.get("/v1/customers").await.status,
        StatusCode::OK,
        "other callers are not limited by the key"
    );
}
