//! Auth module integration tests: the auth and CRM modules in one process,
//! real HTTP, real Postgres, the CRM trusting the auth module as issuer.

mod isolation;
mod keys;
mod oauth;
mod secrets;

use psa_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// The modules of the platform these tests run.
fn modules() -> [psa_runtime::Module; 2] {
    [psa_auth::module(), psa_crm::module()]
}

pub async fn app() -> TestApp {
    TestApp::spawn(&modules()).await.expect("test app starts")
}

/// Everything a tenant admin holds (the built-in admin role).
pub fn admin_perms() -> Vec<&'static str> {
    psa_runtime::Registry::new(modules())
        .unwrap()
        .builtin_role("admin")
        .unwrap()
}

/// A tenant with an admin token (from the test issuer).
pub struct Tenant<'a> {
    pub app: &'a TestApp,
    pub id: Uuid,
    pub slug: String,
    pub token: String,
}

impl<'a> Tenant<'a> {
    pub async fn new(app: &'a TestApp) -> Self {
        Self::with_perms(app, &admin_perms()).await
    }

    pub async fn with_perms(app: &'a TestApp, perms: &[&str]) -> Self {
        let (id, slug) = app.auth_tenant().await.unwrap();
        Self {
            app,
            id,
            slug,
            token: app.token(id, perms),
        }
    }

    pub fn as_token(&self, token: &str) -> Self {
        Self {
            app: self.app,
            id: self.id,
            slug: self.slug.clone(),
            token: token.to_owned(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .post(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .patch(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.app
            .http
            .delete(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// A service account with these permissions: (client_id, client_secret, id).
    pub async fn service_account(&self, perms: &[&str]) -> (String, String, String) {
        let (s, v) = self
            .post(
                "/v1/service-accounts",
                json!({"name": "sync", "permissions": perms}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["client_id"].as_str().unwrap().into(),
            v["client_secret"].as_str().unwrap().into(),
            v["id"].as_str().unwrap().into(),
        )
    }

    pub async fn user(&self, email: &str, password: &str, roles: &[&str]) -> String {
        let (s, v) = self
            .post(
                "/v1/users",
                json!({"email": email, "name": "U", "password": password, "roles": roles}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().into()
    }
}

/// Client credentials at /oauth/token.
pub async fn client_token(app: &TestApp, client_id: &str, secret: &str) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

pub async fn crm_status(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> StatusCode {
    let mut req = app
        .http
        .request(method.clone(), app.url(path))
        .bearer_auth(token);
    if method == reqwest::Method::POST {
        req = req.json(&json!({"name": "From a token"}));
    }
    req.send().await.unwrap().status()
}
