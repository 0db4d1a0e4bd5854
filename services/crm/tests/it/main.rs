//! CRM integration tests: real HTTP against real Postgres, one database per test.

mod auth;
mod billing;
mod cursors;
mod customers;
mod events;
mod housekeeping;
mod pagination;
mod readiness;
mod tenancy;

use psa_testkit::{Client, TestApp};

pub const ALL: &[&str] = &[
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
];

pub async fn app() -> TestApp {
    TestApp::spawn(&[psa_crm::module()])
        .await
        .expect("test app starts")
}

/// A caller of a new tenant holding every CRM permission.
pub fn caller(app: &TestApp) -> Client {
    app.new_tenant(ALL).1
}
