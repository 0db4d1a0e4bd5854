use reqwest::StatusCode;
use serde_json::json;

use crate::{Tenant, app, client_token};

/// Passwords, client secrets, API keys, tokens and private keys appear in no
/// log line, no response after creation, and no audit event.
#[tokio::test]
async fn secrets_never_reach_logs_responses_or_the_audit_trail() {
    let logs = psa_testkit::LogCapture::install(tracing::Level::TRACE);

    let app = app().await;
    let t = Tenant::new(&app).await;
    let password = "s3cret-password-never-logged";
    t.user("dana@acme.example", password, &["readonly"]).await;
    let (client_id, client_secret, sa_id) = t.service_account(&["customers:read"]).await;
    let (s, key) = t
        .post(
            "/v1/api-keys",
            json!({"name": "k", "permissions": ["customers:read"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let api_key = key["key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();

    let (s, issued) = client_token(&app, &client_id, &client_secret).await;
    assert_eq!(s, StatusCode::OK);
    let access = issued["access_token"].as_str().unwrap().to_owned();
    client_token(&app, &client_id, "a-wrong-secret-attempt").await;
    app.http
        .get(app.url("/v1/customers"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    app.http
        .post(app.url("/oauth/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token_type", "urn:psa:token-type:api-key"),
            ("subject_token", api_key.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (s, _) = t
        .post(
            "/v1/users",
            json!({"email": "x@acme.example", "name": "X", "password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    app.http
        .post(app.url("/oauth/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", "test-client"),
            ("redirect_uri", &format!("{}/callback", app.base_url)),
            (
                "code_challenge",
                &psa_auth::oauth::pkce_challenge("v".repeat(50).as_str()),
            ),
            ("code_challenge_method", "S256"),
            ("tenant", &t.slug),
            ("email", "dana@acme.example"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();

    let pool = app.db.module_pool(&psa_auth::module()).unwrap();
    let master = psa_auth::MasterKey::from_base64(&app.config.auth_server.master_key).unwrap();
    let private = psa_auth::signing::current(&pool, &master).await.unwrap();
    let private_b64 =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, private.pkcs8());

    let (_, sa) = t.get(&format!("/v1/service-accounts/{sa_id}")).await;
    let (_, k) = t.get(&format!("/v1/api-keys/{key_id}")).await;
    let (_, audit) = t.get("/v1/audit-events?limit=200").await;
    let jwks = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // psa_<tenant hex>_<id hex>_<secret>: the secret itself may contain '_'.
    let secret_part = api_key.splitn(4, '_').nth(3).unwrap().to_owned();
    assert!(secret_part.len() >= 40);

    let log_text = logs.text();
    assert!(
        log_text.contains("service_account.token"),
        "the capture saw the requests"
    );
    for (name, secret) in [
        ("password", password),
        ("client secret", &client_secret),
        ("API key", &api_key),
        ("API key secret", &secret_part),
        ("access token", &access),
        ("private key", &private_b64),
    ] {
        assert!(!log_text.contains(secret), "{name} in logs");
        for (what, text) in [
            ("service account", sa.to_string()),
            ("api key", k.to_string()),
            ("audit", audit.to_string()),
            ("jwks", jwks.clone()),
        ] {
            assert!(!text.contains(secret), "{name} in {what}");
        }
    }
    assert!(sa.get("client_secret").is_none() && k.get("key").is_none());
}
