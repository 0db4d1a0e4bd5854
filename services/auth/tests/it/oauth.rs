use psa_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Tenant, app, crm_status};

const VERIFIER: &str = "a-long-random-code-verifier-with-enough-entropy-0123456789";

struct Login<'a> {
    app: &'a TestApp,
    tenant: String,
}

impl Login<'_> {
    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.app.base_url)
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

    /// Drives the sign-in page; Ok(code) on redirect, Err((status, page)) otherwise.
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
        otp: &str,
    ) -> Result<String, (StatusCode, String)> {
        let page = self
            .app
            .http
            .get(self.app.url("/oauth/authorize"))
            .query(&self.params())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("name=\"password\""), "a sign-in form");
        let mut form = self.params();
        form.extend([
            ("tenant", self.tenant.clone()),
            ("email", email.into()),
            ("password", password.into()),
            ("otp", otp.into()),
        ]);
        let res = self
            .app
            .http
            .post(self.app.url("/oauth/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        if res.status().is_redirection() {
            let location = res.headers()["location"].to_str().unwrap().to_owned();
            let url = url::Url::parse(&location).unwrap();
            assert!(location.starts_with(&self.redirect_uri()));
            let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
            assert_eq!(q["state"], "xyz");
            Ok(q["code"].clone())
        } else {
            Err((res.status(), res.text().await.unwrap()))
        }
    }

    async fn exchange(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .post(self.app.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("client_id", "test-client"),
                ("redirect_uri", &self.redirect_uri()),
            ])
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    async fn refresh(&self, token: &str) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .post(self.app.url("/oauth/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }
}

#[tokio::test]
async fn authorization_code_with_pkce_and_refresh_rotation() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    t.user(
        "tech@acme.example",
        "correct horse battery",
        &["technician"],
    )
    .await;
    let login = Login {
        app: &app,
        tenant: t.slug.clone(),
    };

    let (status, page) = login
        .sign_in("tech@acme.example", "wrong password!", "")
        .await
        .unwrap_err();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong company"), "{page}");

    let code = login
        .sign_in("tech@acme.example", "correct horse battery", "")
        .await
        .unwrap();
    let (s, body) = login
        .exchange(
            &code,
            "another-verifier-that-does-not-match-the-challenge-000",
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, body) = login.exchange(&code, VERIFIER).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a code is spent on first use"
    );

    let code = login
        .sign_in("tech@acme.example", "correct horse battery", "")
        .await
        .unwrap();
    let (s, tokens) = login.exchange(&code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(
        crm_status(&app, access, Method::GET, "/v1/customers").await,
        StatusCode::OK,
        "technicians read customers"
    );
    assert_eq!(
        crm_status(&app, access, Method::POST, "/v1/customers").await,
        StatusCode::FORBIDDEN
    );

    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (s, next) = login.refresh(&first).await;
    assert_eq!(s, StatusCode::OK, "{next}");
    let second = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second, "rotated on use");
    assert_eq!(
        crm_status(
            &app,
            next["access_token"].as_str().unwrap(),
            Method::GET,
            "/v1/customers"
        )
        .await,
        StatusCode::OK
    );

    // Reusing the rotated token revokes the whole family, the newest token included.
    let (s, body) = login.refresh(&first).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, _) = login.refresh(&second).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the family was revoked");
    let (_, audit) = t.get("/v1/audit-events?limit=200").await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "refresh_token.reuse_detected")
    );
}

#[tokio::test]
async fn sign_in_with_totp_and_recovery_codes() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    t.user("dana@acme.example", "correct horse battery", &["admin"])
        .await;
    let login = Login {
        app: &app,
        tenant: t.slug.clone(),
    };
    let code = login
        .sign_in("dana@acme.example", "correct horse battery", "")
        .await
        .unwrap();
    let (_, tokens) = login.exchange(&code, VERIFIER).await;
    let me = t.as_token(tokens["access_token"].as_str().unwrap());

    let (s, enrol) = me.post("/v1/users/me/mfa/totp", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{enrol}");
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
    let (s, _) = me
        .post("/v1/users/me/mfa/totp/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, confirmed) = me
        .post(
            "/v1/users/me/mfa/totp/confirm",
            json!({"code": psa_auth::totp::code_at_step(&secret, now, 6)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{confirmed}");
    let recovery: Vec<String> =
        serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);

    // Password alone is not enough now.
    let (s, page) = login
        .sign_in("dana@acme.example", "correct horse battery", "")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("authenticator"));
    let (s, _) = login
        .sign_in("dana@acme.example", "correct horse battery", "123456")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The confirmation used this step's code; the next step's works, once.
    let next = psa_auth::totp::code_at_step(&secret, now + 1, 6);
    login
        .sign_in("dana@acme.example", "correct horse battery", &next)
        .await
        .expect("TOTP sign-in");
    let (s, _) = login
        .sign_in("dana@acme.example", "correct horse battery", &next)
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a code is accepted once only");

    login
        .sign_in("dana@acme.example", "correct horse battery", &recovery[0])
        .await
        .expect("recovery code");
    let (s, _) = login
        .sign_in("dana@acme.example", "correct horse battery", &recovery[0])
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a recovery code works once");
    login
        .sign_in("dana@acme.example", "correct horse battery", &recovery[1])
        .await
        .expect("another recovery code");

    let (_, audit) = t.get("/v1/audit-events?limit=200").await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"mfa.enabled"));
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "sign_in" && e["outcome"] == "failure")
    );
}

#[tokio::test]
async fn repeated_failures_slow_down_sign_in() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    t.user("sam@acme.example", "correct horse battery", &["readonly"])
        .await;
    let login = Login {
        app: &app,
        tenant: t.slug.clone(),
    };
    for _ in 0..3 {
        let (s, _) = login
            .sign_in("sam@acme.example", "guess guess guess", "")
            .await
            .unwrap_err();
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, page) = login
        .sign_in("sam@acme.example", "correct horse battery", "")
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
    let login = Login {
        app: &app,
        tenant: "x".into(),
    };
    let mut params = login.params();
    params[2].1 = "https://evil.example/callback".into();
    let res = app
        .http
        .get(app.url("/oauth/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "never redirects to an unregistered URI"
    );
    let mut params = login.params();
    params.retain(|(k, _)| *k != "code_challenge");
    let res = app
        .http
        .get(app.url("/oauth/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "PKCE is required");

    let discovery: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], app.base_url);
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");
}

#[tokio::test]
async fn an_admin_can_require_mfa_for_the_tenant() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    t.user("pat@acme.example", "correct horse battery", &["readonly"])
        .await;
    let login = Login {
        app: &app,
        tenant: t.slug.clone(),
    };
    login
        .sign_in("pat@acme.example", "correct horse battery", "")
        .await
        .expect("no MFA needed yet");
    let (s, tenant) = t
        .patch("/v1/tenants/current", json!({"mfa_required": true}))
        .await;
    assert_eq!(s, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["mfa_required"], true);
    let (s, page) = login
        .sign_in("pat@acme.example", "correct horse battery", "")
        .await
        .unwrap_err();
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(page.contains("requires two-factor"));
    let reader = t.as_token(&t.app.token(t.id, &["customers:read"]));
    assert_eq!(
        reader
            .patch("/v1/tenants/current", json!({"mfa_required": false}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
