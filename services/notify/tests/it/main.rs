//! Notify integration tests: real HTTP, Postgres and (where events are
//! checked on the bus) RabbitMQ; receivers are a separate process, PyPI's
//! `standardwebhooks` behind `scripts/peers webhook-receiver`
//! ([`psa_testkit::peers`]), which verifies every delivery as a customer's
//! receiver would.

use psa_testkit::peers::{Receiver, eventually};
use psa_testkit::{Client, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

mod channels;
mod delivery;
mod recipients;
mod retries;
mod subscriptions;

const PERMS: &[&str] = &["webhooks:admin", "notifications:admin"];

/// Fast retries, loopback admitted: what the tests run with.
fn fast(cfg: &mut psa_runtime::config::PlatformConfig) {
    cfg.notify.retry_delays_ms = vec![50, 100, 150];
    cfg.notify.timeout_ms = 2000;
    cfg.notify.poll_ms = 50;
    cfg.notify.outbound.allow_http = true;
    cfg.notify.outbound.allow_networks = vec!["127.0.0.1/32".into()];
}

/// A tenant's world as the notify module knows it.
struct World {
    app: TestApp,
    tenant: Uuid,
    c: Client,
}

impl World {
    async fn new() -> Self {
        Self::with(
            TestApp::spawn_with(&[psa_notify::module()], fast)
                .await
                .unwrap(),
        )
    }

    async fn with_events() -> Self {
        Self::with(
            TestApp::spawn_with(&[psa_notify::module()], |cfg| {
                fast(cfg);
                cfg.events.enabled = true;
            })
            .await
            .unwrap(),
        )
    }

    fn with(app: TestApp) -> Self {
        let (tenant, c) = app.new_tenant(PERMS);
        Self { app, tenant, c }
    }

    fn store(&self) -> psa_kernel::Store {
        let pool = self.app.db.module_pool(&psa_notify::module()).unwrap();
        psa_kernel::Store::new(pool, psa_notify::DB.schema)
    }

    /// A subscription of `url` to `types`; returns it with its secret.
    async fn subscribe(&self, url: &str, types: &[&str]) -> Value {
        self.c
            .create("/v1/webhooks", json!({"url": url, "event_types": types}))
            .await
    }

    /// An event of `tenant` as the bus brings it, handled as the consumer does.
    async fn event_in(&self, tenant: Uuid, event_type: &str, data: Value) -> Uuid {
        let event = psa_testkit::broker::event(tenant, event_type, data);
        let cap = psa_notify::workers::cap(&self.app.config.notify);
        let mut tx = psa_kernel::Tx::for_tenant(&self.store(), tenant)
            .await
            .unwrap();
        psa_notify::workers::handle(&mut tx, &event, cap)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        event.id
    }

    async fn event(&self, event_type: &str, data: Value) -> Uuid {
        self.event_in(self.tenant, event_type, data).await
    }

    async fn dead_letters(&self) -> Vec<Value> {
        self.c.all("/v1/dead-letters").await
    }
}
