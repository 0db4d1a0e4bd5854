use psa_testkit::{Client, TestApp, TestResponse};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Tenant, app, assert_reads_customers_only, user};

const VERIFIER: &str = "a-long-random-code-verifier-with-enough-entropy-0123456789";
const PASSWORD: &str = "correct horse battery";

/// A browser signing in at the authorization endpoint as the test client.
struct Login {
    browser: Client,
    tenant: String,
}

impl Login {
    fn new(app: &TestApp, tenant: &str) -> Self {
        Self {
            browser: app.anonymous(),
            tenant: tenant.to_owned(),
        }
    }

    fn redirect_uri(&self) -> String {
        self.browser.url("/callback")
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", "test-client".into()),
            ("redirect_uri", self.redirect_uri()),
            ("code_challenge", psa_auth::oauth::pkce_challenge(VERIFIER)),
            ("code_challenge_method", "S256".into()),
            ("state", "xyz".into()),
        ]
    }

    async fn authorize_page(&self, params: &[(&'static str, String)]) -> TestResponse {
        let b = &self.browser;
        b.send(b.request(Method::GET, "/oauth/authorize").query(params))
            .await
    }

    /// Drives the sign-in page; Ok(code) on redirect, Err((status, page)) otherwise.
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
        otp: &str,
    ) -> Result<String, (StatusCode, String)> {
        let page = self
            .authorize_page(&self.params())
            .await
            .assert_status(StatusCode::OK);
        assert!(page.text.contains("name=\"password\""), "a sign-in form");
        let mut form = self.params();
        form.extend([
            ("tenant", self.tenant.clone()),
            ("email", email.into()),
            ("password", password.into()),
            ("otp", otp.into()),
        ]);
        let b = &self.browser;
        let res = b
            .send(b.request(Method::POST, "/oauth/authorize").form(&form))
            .await;
        if res.status.is_redirection() {
            let location = res.location().unwrap();
            let url = url::Url::parse(location).unwrap();
            assert!(location.starts_with(&self.redirect_uri()));
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            assert_eq!(q["state"], "xyz");
            Ok(q["code"].clone())
        } else {
            Err((res.status, res.text))
        }
    }

    async fn token(&self, form: &[(&str, &str)]) -> TestResponse {
        let b = &self.browser;
        b.send(b.request(Method::POST, "/oauth/token").form(form))
            .await
    }

    async fn exchange(&self, code: &str, verifier: &str) -> TestResponse {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("client_id", "test-client"),
            ("redirect_uri", &self.redirect_uri()),
        ])
        .await
    }

    async fn refresh(&self, token: &str) -> TestResponse {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }
}

/// A tenant with one user of these roles, and a browser to sign them in.
async fn tenant_with_user(app: &TestApp, email: &str, roles: &[&str]) -> (Tenant, Login) {
    let t = Tenant::new(app).await;
    user(&t.admin, email, PASSWORD, roles).await;
    let login = Login::new(app, &t.slug);
    (t, login)
}

#[track_caller]
fn assert_oauth_error(res: &TestResponse, error: &str, why: &str) {
    assert_eq!(
        (res.status, res["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error)),
        "{why}: {res}"
    );
}

#[tokio::test]
async fn authorization_code_with_pkce_and_refresh_rotation() {
    let app = app().await;
    let (t, login) = tenant_with_user(&app, "tech@acme.example", &["technician"]).await;

    let (status, page) = login
        .sign_in("tech@acme.example", "wrong password!", "")
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong company"), "{page}");

    let code = login
        .sign_in("tech@acme.example", PASSWORD, "")
        .await
        .unwrap();
    let res = login
        .exchange(
            &code,
            "another-verifier-that-does-not-match-the-challenge-000",
        )
        .await;
    assert_oauth_error(&res, "invalid_grant", "a verifier that does not match");
    let res = login.exchange(&code, VERIFIER).await;
    assert_oauth_error(&res, "invalid_grant", "a code is spent on first use");

    let code = login
        .sign_in("tech@acme.example", PASSWORD, "")
        .await
        .unwrap();
    let tokens = login
        .exchange(&code, VERIFIER)
        .await
        .assert_status(StatusCode::OK);
    let access = tokens["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    // Technicians read customers.
    assert_reads_customers_only(&app, access).await;

    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let next = login.refresh(&first).await.assert_status(StatusCode::OK);
    let second = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second, "rotated on use");
    app.client(next["access_token"].as_str().unwrap())
        .get("/v1/customers")
        .await
        .assert_status(StatusCode::OK);

    // Reusing the rotated token revokes the whole family, the newest token included.
    let res = login.refresh(&first).await;
    assert_oauth_error(&res, "invalid_grant", "a rotated token reused");
    assert_eq!(
        login.refresh(&second).await.status,
        StatusCode::BAD_REQUEST,
        "the family was revoked"
    );
    let audit = t.admin.get("/v1/audit-events?limit=200").await;
    assert!(
        audit
            .items()
            .iter()
            .any(|e| e["action"] == "refresh_token.reuse_detected")
    );
}

#[tokio::test]
async fn sign_in_with_totp_and_recovery_codes() {
    let app = app().await;
    let (t, login) = tenant_with_user(&app, "dana@acme.example", &["admin"]).await;
    let code = login
        .sign_in("dana@acme.example", PASSWORD, "")
        .await
        .unwrap();
    let tokens = login.exchange(&code, VERIFIER).await;
    let me = app.client(tokens["access_token"].as_str().unwrap());

    let enrol = me
        .post("/v1/users/me/mfa/totp", json!({}))
        .await
        .assert_status(StatusCode::OK);
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrol["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let now = psa_auth::totp::step_of(chrono::Utc::now().timestamp());
    me.post("/v1/users/me/mfa/totp/confirm", json!({"code": "000000"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let confirmed = me
        .post(
            "/v1/users/me/mfa/totp/confirm",
            json!({"code": psa_auth::totp::code_at_step(&secret, now, 6)}),
        )
        .await
        .assert_status(StatusCode::OK);
    let recovery: Vec<String> =
        serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);

    // Password alone is not enough now.
    let (s, page) = login
        .sign_in("dana@acme.example", PASSWORD, "")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("authenticator"));
    let (s, _) = login
        .sign_in("dana@acme.example", PASSWORD, "123456")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The confirmation used this step's code; the next step's works, once.
    let next = psa_auth::totp::code_at_step(&secret, now + 1, 6);
    login
        .sign_in("dana@acme.example", PASSWORD, &next)
        .await
        .expect("TOTP sign-in");
    let (s, _) = login
        .sign_in("dana@acme.example", PASSWORD, &next)
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a code is accepted once only");

    login
        .sign_in("dana@acme.example", PASSWORD, &recovery[0])
        .await
        .expect("recovery code");
    let (s, _) = login
        .sign_in("dana@acme.example", PASSWORD, &recovery[0])
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a recovery code works once");
    login
        .sign_in("dana@acme.example", PASSWORD, &recovery[1])
        .await
        .expect("another recovery code");

    let audit = t.admin.get("/v1/audit-events?limit=200").await;
    let actions: Vec<&str> = audit
        .items()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"mfa.enabled"));
    assert!(
        audit
            .items()
            .iter()
            .any(|e| e["action"] == "sign_in" && e["outcome"] == "failure")
    );
}

#[tokio::test]
async fn repeated_failures_slow_down_sign_in() {
    let app = app().await;
    let (_t, login) = tenant_with_user(&app, "sam@acme.example", &["readonly"]).await;
    for _ in 0..3 {
        let (s, _) = login
            .sign_in("sam@acme.example", "guess guess guess", "")
            .await
            .unwrap_err();
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, page) = login
        .sign_in("sam@acme.example", PASSWORD, "")
        .await
        .unwrap_err();
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits after repeated failures"
    );
    assert!(page.contains("Too many failed attempts"));
}

#[tokio::test]
async fn the_authorization_endpoint_refuses_unknown_clients_and_redirects() {
    let app = app().await;
    let login = Login::new(&app, "x");
    let mut params = login.params();
    params[2].1 = "https://evil.example/callback".into();
    assert_eq!(
        login.authorize_page(&params).await.status,
        StatusCode::BAD_REQUEST,
        "never redirects to an unregistered URI"
    );
    let mut params = login.params();
    params.retain(|(k, _)| *k != "code_challenge");
    assert_eq!(
        login.authorize_page(&params).await.status,
        StatusCode::BAD_REQUEST,
        "PKCE is required"
    );

    let discovery = app
        .anonymous()
        .get("/.well-known/openid-configuration")
        .await;
    assert_eq!(discovery["issuer"], app.base_url);
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");
}

#[tokio::test]
async fn an_admin_can_require_mfa_for_the_tenant() {
    let app = app().await;
    let (t, login) = tenant_with_user(&app, "pat@acme.example", &["readonly"]).await;
    login
        .sign_in("pat@acme.example", PASSWORD, "")
        .await
        .expect("no MFA needed yet");
    let tenant = t
        .admin
        .patch("/v1/tenants/current", json!({"mfa_required": true}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(tenant["mfa_required"], true);
    let (s, page) = login
        .sign_in("pat@acme.example", PASSWORD, "")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(page.contains("requires two-factor"));
    app.client_for(t.id, &["customers:read"])
        .patch("/v1/tenants/current", json!({"mfa_required": false}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
