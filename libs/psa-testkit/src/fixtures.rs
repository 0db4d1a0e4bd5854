//! Minimal valid resources, made through the API as a client would: each
//! returns what the API answered on creation (asserting 201). The `*_body`
//! functions give the request body for tests that vary it.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::{Client, TestResponse};

pub fn customer_body(name: &str) -> Value {
    json!({"name": name})
}

pub async fn customer(c: &Client, name: &str) -> Value {
    c.create("/v1/customers", customer_body(name)).await
}

pub async fn contact(c: &Client, customer_id: impl Serialize, name: &str) -> Value {
    c.create(
        "/v1/contacts",
        json!({"customer_id": customer_id, "name": name}),
    )
    .await
}

/// Response and resolution minutes per priority.
pub fn sla_terms() -> Value {
    let t = |r: u32, s: u32| json!({"response_minutes": r, "resolution_minutes": s});
    json!({"low": t(480, 4800), "medium": t(240, 1440), "high": t(60, 480), "critical": t(15, 240)})
}

/// Monday to Friday, 08:00 to 17:00 in Berlin.
pub fn business_hours() -> Value {
    let windows: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "start": "08:00", "end": "17:00"}))
        .collect();
    json!({"time_zone": "Europe/Berlin", "windows": windows})
}

/// An active managed-services contract with [`sla_terms`] in [`business_hours`].
pub fn contract_body(customer_id: impl Serialize) -> Value {
    json!({
        "customer_id": customer_id, "name": "Managed services", "type": "managed_services",
        "status": "active", "start_date": "2026-01-01", "currency": "EUR", "monthly_fee": "990.00",
        "sla": sla_terms(), "business_hours": business_hours(),
    })
}

pub async fn contract(c: &Client, customer_id: impl Serialize) -> Value {
    c.create("/v1/contracts", contract_body(customer_id)).await
}

pub fn ticket_body(customer_id: impl Serialize) -> Value {
    json!({"title": "Printer on fire", "customer_id": customer_id})
}

/// A ticket for a customer the tickets module already knows.
pub async fn ticket(c: &Client, customer_id: impl Serialize) -> Value {
    c.create("/v1/tickets", ticket_body(customer_id)).await
}

/// A service account with these permissions, as created (with its
/// `client_id` and the one-time `client_secret`).
pub async fn service_account(admin: &Client, permissions: &[&str]) -> Value {
    admin
        .create(
            "/v1/service-accounts",
            json!({"name": "sync", "permissions": permissions}),
        )
        .await
}

/// An API key with these permissions (and optionally its own rate limit),
/// as created (with the one-time `key`).
pub async fn api_key(admin: &Client, permissions: &[&str], per_minute: Option<u32>) -> Value {
    let mut body = json!({"name": "key", "permissions": permissions});
    if let Some(limit) = per_minute {
        body["rate_limit_per_minute"] = json!(limit);
    }
    admin.create("/v1/api-keys", body).await
}

pub async fn user(admin: &Client, email: &str, password: &str, roles: &[&str]) -> Value {
    admin
        .create(
            "/v1/users",
            json!({"email": email, "name": "U", "password": password, "roles": roles}),
        )
        .await
}

/// The client-credentials grant at `/oauth/token`, answered as it is.
pub async fn client_credentials(c: &Client, client_id: &str, secret: &str) -> TestResponse {
    c.send(
        c.anonymous()
            .request(Method::POST, "/oauth/token")
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await
}

/// A caller signed in as this service account (client credentials).
pub async fn signed_in(c: &Client, account: &Value) -> Client {
    let field = |name: &str| {
        account[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {account}"))
            .to_owned()
    };
    let tokens = client_credentials(c, &field("client_id"), &field("client_secret"))
        .await
        .assert_status(StatusCode::OK);
    let token = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an access token in {tokens}"));
    c.bearer(token)
}
