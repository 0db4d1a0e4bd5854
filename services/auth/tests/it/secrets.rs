use psa_testkit::fixtures::{self, client_credentials};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Tenant, app, exchange_api_key, service_account, user};

/// Passwords, client secrets, API keys, tokens and private keys appear in no
/// log line, no response after creation, and no audit event.
#[tokio::test]
async fn secrets_never_reach_logs_responses_or_the_audit_trail() {
    let logs = psa_testkit::LogCapture::install(tracing::Level::TRACE);
    let app = app().await;
    let anon = app.anonymous();
    let t = Tenant::new(&app).await;
    let password = "s3cret-password-never-logged";
    user(&t.admin, "dana@acme.example", password, &["readonly"]).await;
    let (client_id, client_secret, sa_id) = service_account(&t.admin, &["customers:read"]).await;
    let key = fixtures::api_key(&t.admin, &["customers:read"], None).await;
    let api_key = key["key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();

    let issued = client_credentials(&anon, &client_id, &client_secret)
        .await
        .assert_status(StatusCode::OK);
    let access = issued["access_token"].as_str().unwrap().to_owned();
    client_credentials(&anon, &client_id, "a-wrong-secret-attempt").await;
    app.client(&access).get("/v1/customers").await;
    exchange_api_key(&anon, &api_key).await;
    t.admin
        .post(
            "/v1/users",
            json!({"email": "x@acme.example", "name": "X", "password": "short"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    anon.send(anon.request(Method::POST, "/oauth/authorize").form(&[
        ("response_type", "code"),
        ("client_id", "test-client"),
        ("redirect_uri", &anon.url("/callback")),
        (
            "code_challenge",
            &psa_auth::oauth::pkce_challenge("v".repeat(50).as_str()),
        ),
        ("code_challenge_method", "S256"),
        ("tenant", &t.slug),
        ("email", "dana@acme.example"),
        ("password", password),
    ]))
    .await;

    let pool = app.db.module_pool(&psa_auth::module()).unwrap();
    let master = psa_auth::MasterKey::from_base64(&app.config.auth_server.master_key).unwrap();
    let private = psa_auth::signing::current(&pool, &master).await.unwrap();
    let private_b64 =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, private.pkcs8());

    let sa = t.admin.get(&format!("/v1/service-accounts/{sa_id}")).await;
    let k = t.admin.get(&format!("/v1/api-keys/{key_id}")).await;
    let audit = t.admin.get("/v1/audit-events?limit=200").await;
    let jwks = anon.get("/.well-known/jwks.json").await;
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
            ("service account", &sa.text),
            ("api key", &k.text),
            ("audit", &audit.text),
            ("jwks", &jwks.text),
        ] {
            assert!(!text.contains(secret), "{name} in {what}");
        }
    }
    assert!(sa.body.get("client_secret").is_none() && k.body.get("key").is_none());
}
