//! CRM integration tests: real HTTP against real Postgres, one database per test.

mod auth;
mod customers;
mod events;
mod housekeeping;
mod pagination;
mod readiness;
mod tenancy;

use psa_testkit::TestApp;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

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

/// A caller of one tenant with a token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub tenant: Uuid,
    pub token: String,
}

impl<'a> Client<'a> {
    pub fn new(app: &'a TestApp, permissions: &[&str]) -> Self {
        let tenant = Uuid::now_v7();
        Self {
            app,
            tenant,
            token: app.token(tenant, permissions),
        }
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, self.app.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::PATCH, path)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.req(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// Creates and returns a resource, asserting 201.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let res = self.post(path, &body).await;
        let status = res.status();
        let value: Value = res.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "{value}");
        value
    }

    pub async fn customer(&self, name: &str) -> Value {
        self.create("/v1/customers", json!({"name": name})).await
    }

    pub async fn contract(&self, customer_id: &str) -> Value {
        self.create(
            "/v1/contracts",
            json!({"customer_id": customer_id, "name": "MSA", "type": "managed_services", "start_date": "2026-01-01",
                   "currency": "EUR", "monthly_fee": "1500.00"}),
        )
        .await
    }
}

/// Asserts a problem+json response with this status and returns its body.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type {ct}"
    );
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["request_id"].is_string(), "request_id in {body}");
    assert!(body["title"].is_string());
    body
}
