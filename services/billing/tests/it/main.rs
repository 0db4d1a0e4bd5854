//! Billing integration tests: real HTTP and Postgres. The projection is fed
//! as CRM's and tickets' events would feed it (their own types' JSON); the
//! end-to-end flow over the bus is in `tests/flows`.

use std::time::{Duration, Instant};

use chrono::Utc;
use psa_testkit::{Client, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

mod access;
mod datev;
mod documents;
mod einvoice;
mod numbers;
mod runs;

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
