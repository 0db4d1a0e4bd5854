//! Billing integration tests: real HTTP and Postgres. The projection is fed
//! as CRM's and tickets' events would feed it (their own types' JSON); the
//! end-to-end flow over the bus is in `tests/flows`.

use std::time::{Duration, Instant};

use chrono::Utc;
use psa_testkit::{Client, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

mod documents;
mod numbers;

const PERMS: &[&str] = &[
    "invoices:read",
    "invoices:write",
    "invoices:release",
    "time:approve",
];

/// A tenant's world as billing's projection knows it.
struct World {
    app: TestApp,
    tenant: Uuid,
    c: Client,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn(&[psa_billing::module()]).await.unwrap();
        let (tenant, c) = app.new_tenant(PERMS);
        Self { app, tenant, c }
    }

    /// Applies an event to billing's projection in this tenant.
    async fn project(&self, event_type: &str, data: Value) {
        let pool = self.app.db.module_pool(&psa_billing::module()).unwrap();
        let store = psa_kernel::Store::new(pool, psa_billing::DB.schema);
        let mut tx = psa_kernel::Tx::for_tenant(&store, self.tenant)
            .await
            .unwrap();
        psa_billing::events::project(&mut tx, event_type, &data)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// A customer as CRM publishes it, with `extra` fields over the defaults.
    async fn customer(&self, extra: Value) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let mut c = json!({"id": id, "customer_number": "C-000001", "name": "Contoso GmbH",
            "status": "active", "external_ids": {},
            "address": {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
            "vat_treatment": "standard", "einvoice_format": "zugferd",
            "version": 1, "created_at": now, "updated_at": now});
        merge(&mut c, extra);
        self.project("customer.created", c).await;
        id
    }

    /// A managed-services contract: €1,000/month, €95/h, 10 included hours.
    async fn contract(&self, customer: Uuid, extra: Value) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let mut c = json!({"id": id, "customer_id": customer, "name": "Managed services",
            "type": "managed_services", "status": "active", "start_date": "2026-01-01",
            "end_date": null, "currency": "EUR", "hourly_rate": "95.00", "monthly_fee": "1000.00",
            "included_hours": "10.00", "sla": null, "business_hours": null,
            "billing_increment_minutes": 15, "billing_day": 1,
            "version": 1, "created_at": now, "updated_at": now});
        merge(&mut c, extra);
        self.project("contract.created", c).await;
        id
    }

    /// A ticket of the customer (no contract named: billing finds it).
    async fn ticket(&self, customer: Uuid) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        self.project(
            "ticket.created",
            json!({"id": id, "number": "T-000001", "title": "Mail is down", "description": null,
                "type": "incident", "priority": "high", "status": "open", "queue": null,
                "assignee_id": null, "customer_id": customer, "contact_id": null, "asset_id": null,
                "tags": [], "contract_id": null, "response_due_at": null, "resolution_due_at": null,
                "first_response_at": null, "resolved_at": null, "version": 1,
                "created_at": now, "updated_at": now}),
        )
        .await;
        id
    }

    /// A time entry as tickets publish it (`time_entry.logged`, or
    /// `.updated` with a higher `version`).
    async fn time(
        &self,
        event: &str,
        (id, ticket): (Uuid, Uuid),
        day: &str,
        minutes: i32,
        billable: bool,
        version: i64,
    ) {
        let now = Utc::now();
        self.project(
            event,
            json!({"id": id, "ticket_id": ticket, "user_id": "tech-1",
                "started_at": format!("{day}T09:00:00Z"), "minutes": minutes, "description": "work",
                "billable": billable, "work_type": "remote", "billed_at": null, "version": version,
                "created_at": now, "updated_at": now}),
        )
        .await;
    }

    /// Logs time and returns its id.
    async fn log(&self, ticket: Uuid, day: &str, minutes: i32, billable: bool) -> Uuid {
        let id = Uuid::now_v7();
        self.time("time_entry.logged", (id, ticket), day, minutes, billable, 1)
            .await;
        id
    }

    async fn approve(&self, ids: &[Uuid]) -> Value {
        self.c
            .post("/v1/billing/items/approve", json!({"ids": ids}))
            .await
            .assert_status(StatusCode::OK)
            .body
    }

    /// The seller's settings a release needs.
    async fn seller(&self) {
        self.c
            .patch(
                "/v1/billing/settings",
                json!({"legal_name": "Muster IT GmbH",
                    "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"},
                    "vat_id": "DE123456789", "iban": "DE02120300000000202051", "bic": "BYLADEM1001",
                    "contact_name": "Erika Muster", "contact_phone": "+49 89 123456",
                    "contact_email": "billing@muster-it.de", "electronic_address": "billing@muster-it.de"}),
            )
            .await
            .assert_status(StatusCode::OK);
    }

    /// Starts a run and waits for it to end; the run as it ended.
    async fn run(&self, from: &str, to: &str) -> Value {
        let started = self
            .c
            .post(
                "/v1/invoice-runs",
                json!({"period": {"from": from, "to": to}}),
            )
            .await
            .assert_status(StatusCode::ACCEPTED);
        self.finished(started.location().unwrap()).await
    }

    async fn finished(&self, path: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = self.c.get(path).await.assert_status(StatusCode::OK).body;
            if run["status"] != "running" {
                return run;
            }
            assert!(Instant::now() < deadline, "the run did not end: {run}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The drafts a run made, as documents.
    async fn drafts_of(&self, run: &Value) -> Vec<Value> {
        let list = self
            .c
            .get(&format!(
                "/v1/invoices?run_id={}",
                run["id"].as_str().unwrap()
            ))
            .await
            .assert_status(StatusCode::OK);
        let mut docs = vec![];
        for i in list.items() {
            docs.push(self.doc(i["id"].as_str().unwrap()).await);
        }
        docs
    }

    async fn doc(&self, id: &str) -> Value {
        self.c
            .get(&format!("/v1/invoices/{id}"))
            .await
            .assert_status(StatusCode::OK)
            .body
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(e)) = (target, extra) {
        t.extend(e);
    }
}

fn lines_of(doc: &Value) -> &Vec<Value> {
    doc["lines"].as_array().unwrap()
}

#[tokio::test]
async fn a_month_of_managed_services_is_the_fee_and_the_overage() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let ticket = w.ticket(customer).await;
    // 12 h 30 min approved, 1 h not billable, 1 h billable but not approved.
    let mut approved = vec![];
    for (day, minutes) in [
        ("2026-11-02", 180),
        ("2026-11-03", 180),
        ("2026-11-10", 120),
        ("2026-11-11", 150),
        ("2026-11-20", 120),
    ] {
        approved.push(w.log(ticket, day, minutes, true).await);
    }
    let unbillable = w.log(ticket, "2026-11-04", 60, false).await;
    let pending = w.log(ticket, "2026-11-05", 60, true).await;
    let items = w.approve(&approved).await;
    assert_eq!(items["data"].as_array().unwrap().len(), 5);
    assert!(
        items["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "approved")
    );
    // Not billable: not an item at all.
    w.c.get(&format!("/v1/billing/items/{unbillable}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let run = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        (
            run["customers_total"].as_i64(),
            run["customers_done"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(run["invoices_created"], 1);
    let drafts = w.drafts_of(&run).await;
    assert_eq!(drafts.len(), 1);
    let d = &drafts[0];
    assert_eq!(
        (d["status"].as_str(), d["type"].as_str()),
        (Some("draft"), Some("invoice"))
    );
    assert!(d["number"].is_null(), "a draft has no number");
    let lines = lines_of(d);
    assert_eq!(lines.len(), 2, "{d}");
    assert_eq!(
        (lines[0]["kind"].as_str(), lines[0]["net_amount"].as_str()),
        (Some("fee"), Some("1000.00"))
    );
    assert_eq!(lines[0]["unit_code"], "MON");
    assert_eq!(lines[1]["kind"], "overage");
    assert_eq!(
        (
            lines[1]["quantity"].as_str(),
            lines[1]["unit_code"].as_str()
        ),
        (Some("2.5000"), Some("HUR"))
    );
    assert_eq!(
        (
            lines[1]["unit_price"].as_str(),
            lines[1]["net_amount"].as_str()
        ),
        (Some("95.0000"), Some("237.50"))
    );
    assert_eq!(
        (
            d["net_total"].as_str(),
            d["tax_total"].as_str(),
            d["gross_total"].as_str()
        ),
        (Some("1237.50"), Some("235.13"), Some("1472.63"))
    );
    for id in &approved {
        let item = w.c.get(&format!("/v1/billing/items/{id}")).await.body;
        assert_eq!(
            (item["status"].as_str(), item["invoice_id"].as_str()),
            (Some("invoiced"), d["id"].as_str())
        );
    }
    let left = w.c.get(&format!("/v1/billing/items/{pending}")).await.body;
    assert_eq!(left["status"], "pending", "unapproved time is not billed");

    // A second run over the month adds nothing.
    let again = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(
        (again["status"].as_str(), again["invoices_created"].as_i64()),
        (Some("completed"), Some(0))
    );
    // Time approved late is billed by a later run, as overage: the month's
    // included hours were used by the first.
    let late = w.log(ticket, "2026-11-20", 180, true).await;
    w.approve(&[late]).await;
    let late_run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&late_run).await[0];
    let lines = lines_of(d);
    assert_eq!(lines.len(), 1, "no second fee: {d}");
    assert_eq!(
        (
            lines[0]["kind"].as_str(),
            lines[0]["quantity"].as_str(),
            lines[0]["net_amount"].as_str()
        ),
        (Some("overage"), Some("3.0000"), Some("285.00"))
    );
}

#[tokio::test]
async fn a_draft_whose_time_changed_is_not_released_and_gives_the_time_back_for_approval() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    w.contract(
        customer,
        json!({"type": "time_and_materials", "monthly_fee": null, "included_hours": null}),
    )
    .await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 60, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    let id = d["id"].as_str().unwrap();
    // Edited in tickets before tickets heard it is invoiced.
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        90,
        true,
        2,
    )
    .await;
    let refused =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["lines"]);
    w.c.delete(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["minutes"].as_i64()),
        (Some("pending"), Some(90)),
        "what it says now was never approved"
    );
}

#[tokio::test]
async fn time_within_the_included_hours_is_shown_at_nothing_and_used() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 90, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let lines = lines_of(&w.drafts_of(&run).await[0]).clone();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[1]["quantity"].as_str(),
            lines[1]["net_amount"].as_str()
        ),
        (Some("1.5000"), Some("0.00"))
    );
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["status"],
        "invoiced"
    );
}
#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_run() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let body = json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}});
    let first =
        w.c.post_idem("/v1/invoice-runs", "run-nov", &body)
            .await
            .assert_status(StatusCode::ACCEPTED);
    let done = w.finished(first.location().unwrap()).await;
    let second =
        w.c.post_idem("/v1/invoice-runs", "run-nov", &body)
            .await
            .assert_status(StatusCode::ACCEPTED);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(w.drafts_of(&done).await.len(), 1);
    let all = w.c.get("/v1/invoices").await;
    assert_eq!(all.items().len(), 1, "the replay made nothing");
}

#[tokio::test]
async fn a_contract_from_day_16_of_a_30_day_month_pays_half_the_fee() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({"start_date": "2026-11-16"}))
        .await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let drafts = w.drafts_of(&run).await;
    let lines = lines_of(&drafts[0]);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0]["quantity"].as_str(),
            lines[0]["unit_code"].as_str()
        ),
        (Some("15.0000"), Some("DAY"))
    );
    assert_eq!(lines[0]["net_amount"], "500.00");
    assert_eq!(
        (
            lines[0]["period_from"].as_str(),
            lines[0]["period_to"].as_str()
        ),
        (Some("2026-11-16"), Some("2026-11-30"))
    );
}

#[tokio::test]
async fn an_edit_after_approval_resets_the_item_and_deleting_a_draft_gives_time_back() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(
        customer,
        json!({"type": "time_and_materials", "monthly_fee": null, "included_hours": null}),
    )
    .await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 50, true).await;
    w.approve(&[entry]).await;
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        70,
        true,
        2,
    )
    .await;
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["minutes"].as_i64()),
        (Some("pending"), Some(70))
    );
    assert!(item["approved_by"].is_null());
    // An older version of the entry changes nothing.
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        10,
        true,
        1,
    )
    .await;
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["minutes"],
        70
    );

    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    // 70 minutes rounded up to 75: 1.25 h × 95.
    assert_eq!(lines_of(d)[0]["net_amount"], "118.75");
    // Approving an invoiced item is refused, all or none.
    w.c.post("/v1/billing/items/approve", json!({"ids": [entry]}))
        .await
        .assert_problem(StatusCode::CONFLICT, "item_state");
    w.c.delete(&format!("/v1/invoices/{}", d["id"].as_str().unwrap()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["invoice_id"].as_str()),
        (Some("approved"), None)
    );
    let rerun = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(rerun["invoices_created"], 1, "the time is billed again");
}

#[tokio::test]
async fn time_without_a_rate_is_left_approved_and_said() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({"type": "time_and_materials", "hourly_rate": null, "monthly_fee": null, "included_hours": null})).await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 60, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(
        (run["status"].as_str(), run["invoices_created"].as_i64()),
        (Some("completed"), Some(0))
    );
    let problems = run["problems"].as_array().unwrap();
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("no hourly rate"),
        "{run}"
    );
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["status"],
        "approved"
    );
}

#[tokio::test]
async fn another_tenant_s_billing_is_not_found() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    let id = d["id"].as_str().unwrap();
    let (_, other) = w.app.new_tenant(PERMS);
    other
        .get(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .get(&format!("/v1/invoice-runs/{}", run["id"].as_str().unwrap()))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .post(&format!("/v1/invoices/{id}/release"), json!({}))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .delete(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(other.get("/v1/invoices").await.items().is_empty());
    assert!(other.get("/v1/billing/items").await.items().is_empty());
    // Without the permission: 403.
    let reader = w.app.client_for(w.tenant, &["invoices:read"]);
    reader
        .post(&format!("/v1/invoices/{id}/release"), json!({}))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn settings_are_validated_and_series_are_formats() {
    let w = World::new().await;
    let s =
        w.c.get("/v1/billing/settings")
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(
        (s["version"].as_i64(), s["invoice_number_format"].as_str()),
        (Some(0), Some("RE-{YYYY}-{seq:05}"))
    );
    let bad =
        w.c.patch(
            "/v1/billing/settings",
            json!({"iban": "DE03120300000000202051", "invoice_number_format": "RE-{YYYY}",
        "default_vat_rate": "100.00", "bic": "nope"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = bad.error_fields();
    for f in ["iban", "invoice_number_format", "default_vat_rate", "bic"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    for bad in [
        json!({"invoice_number_format": "RE{seq}", "credit_note_number_format": "RE{seq:02}"}),
        json!({"default_vat_rate": "0"}),
    ] {
        w.c.patch("/v1/billing/settings", bad)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    w.c.patch("/v1/billing/settings", json!({"default_vat_rate": 19}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    w.seller().await;
    let s = w.c.get("/v1/billing/settings").await;
    assert_eq!(
        (s["version"].as_i64(), s["legal_name"].as_str()),
        (Some(1), Some("Muster IT GmbH"))
    );
    w.c.patch("/v1/billing/settings", json!({"bic": null}))
        .await
        .assert_status(StatusCode::OK);
    assert!(
        w.c.get("/v1/billing/settings").await["bic"].is_null(),
        "a merge patch clears"
    );
}
