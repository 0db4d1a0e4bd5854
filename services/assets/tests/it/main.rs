//! Assets integration tests: real HTTP and Postgres (RabbitMQ where events
//! are checked on the bus). CRM's customers, contacts and sites reach the
//! projection as CRM's events would bring them (its own types' JSON).

use chrono::Utc;
use psa_testkit::{Client, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

mod assets;
mod eol;
mod inventory;
mod licenses;
mod watch;

const PERMS: &[&str] = &[
    "assets:read",
    "assets:write",
    "licenses:reveal",
    "inventory:write",
];

/// A tenant's world as the assets module knows it.
struct World {
    app: TestApp,
    tenant: Uuid,
    c: Client,
}

impl World {
    async fn new() -> Self {
        Self::with(TestApp::spawn(&[psa_assets::module()]).await.unwrap())
    }

    /// With events on: the relay publishes what the module records.
    async fn with_events() -> Self {
        Self::with(
            TestApp::spawn_with(&[psa_assets::module()], |cfg| cfg.events.enabled = true)
                .await
                .unwrap(),
        )
    }

    fn with(app: TestApp) -> Self {
        let (tenant, c) = app.new_tenant(PERMS);
        Self { app, tenant, c }
    }

    fn pool(&self) -> sqlx::PgPool {
        self.app.db.module_pool(&psa_assets::module()).unwrap()
    }

    /// Applies a CRM event to the projection in `tenant`.
    async fn project_in(&self, tenant: Uuid, event_type: &str, data: Value) {
        let store = psa_kernel::Store::new(self.pool(), psa_assets::DB.schema);
        let mut tx = psa_kernel::Tx::for_tenant(&store, tenant).await.unwrap();
        psa_assets::events::project(&mut tx, event_type, &data)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// A customer as CRM publishes it, with `external_ids`.
    async fn customer_in(&self, tenant: Uuid, external_ids: Value) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let c = json!({"id": id, "customer_number": "C-000001", "name": "Contoso GmbH",
            "status": "active", "external_ids": external_ids,
            "vat_treatment": "standard", "einvoice_format": "zugferd",
            "version": 1, "created_at": now, "updated_at": now});
        self.project_in(tenant, "customer.created", c).await;
        id
    }

    async fn customer(&self) -> Uuid {
        self.customer_in(self.tenant, json!({})).await
    }

    async fn contact(&self, customer: Uuid, email: &str) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        self.project_in(
            self.tenant,
            "contact.created",
            json!({"id": id, "customer_id": customer, "name": "Erika Muster", "email": email,
                "phone": null, "title": null, "is_primary": false, "version": 1,
                "created_at": now, "updated_at": now}),
        )
        .await;
        id
    }

    async fn site(&self, customer: Uuid) -> Uuid {
        let id = Uuid::now_v7();
        let now = Utc::now();
        self.project_in(
            self.tenant,
            "site.created",
            json!({"id": id, "customer_id": customer, "name": "HQ", "address": null,
                "phone": null, "time_zone": null, "notes": null, "version": 1,
                "created_at": now, "updated_at": now}),
        )
        .await;
        id
    }

    /// An asset of `customer` with `extra` fields over a plain server.
    async fn asset(&self, customer: Uuid, extra: Value) -> Value {
        let mut body = json!({"customer_id": customer, "name": "srv-01", "type": "server"});
        merge(&mut body, extra);
        self.c.create("/v1/assets", body).await
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), extra) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}
