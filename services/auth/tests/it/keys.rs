use reqwest::{Method, StatusCode};

use crate::{Tenant, app, client_token, crm_status};

/// A client-credentials token carries exactly the account's permissions, and
/// the CRM (trusting the platform issuer through discovery) accepts it.
#[tokio::test]
async fn client_credentials_token_is_accepted_by_crm_with_exact_permissions() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let (client_id, secret, _) = t.service_account(&["customers:read"]).await;

    let (s, body) = client_token(&app, &client_id, &secret).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "customers:read");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        crm_status(&app, token, Method::GET, "/v1/customers").await,
        StatusCode::OK
    );
    assert_eq!(
        crm_status(&app, token, Method::POST, "/v1/customers").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        crm_status(&app, token, Method::GET, "/v1/contracts").await,
        StatusCode::FORBIDDEN
    );

    let (s, body) = client_token(&app, &client_id, "wrong-secret").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (s, body) = client_token(&app, "sa.nonsense", &secret).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Narrowing by scope works; widening is refused.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "customers:write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_scope"
    );
}

#[tokio::test]
async fn secret_rotation_keeps_the_old_secret_for_the_overlap_only() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let (client_id, old, id) = t.service_account(&["customers:read"]).await;
    let (s, v) = t
        .post(
            &format!("/v1/service-accounts/{id}/rotate-secret"),
            serde_json::json!({"overlap_secs": 3600}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = v["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        client_token(&app, &client_id, &old).await.0,
        StatusCode::OK,
        "old secret in its overlap"
    );
    assert_eq!(client_token(&app, &client_id, &new).await.0, StatusCode::OK);
    let (_, v) = t
        .post(
            &format!("/v1/service-accounts/{id}/rotate-secret"),
            serde_json::json!({"overlap_secs": 0}),
        )
        .await;
    let newest = v["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        client_token(&app, &client_id, &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_token(&app, &client_id, &new).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_token(&app, &client_id, &newest).await.0,
        StatusCode::OK
    );
}

/// After a key rotation the running CRM accepts new tokens on first use
/// (unknown kid → JWKS refetch) and old ones until they expire.
#[tokio::test]
async fn key_rotation_without_restart() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let (client_id, secret, _) = t.service_account(&["customers:read"]).await;
    let old = client_token(&app, &client_id, &secret).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        crm_status(&app, &old, Method::GET, "/v1/customers").await,
        StatusCode::OK
    );

    let pool = app.db.module_pool(&psa_auth::module()).unwrap();
    let master = psa_auth::MasterKey::from_base64(&app.config.auth_server.master_key).unwrap();
    let kid = psa_auth::signing::rotate(&pool, &master, 0, 900)
        .await
        .unwrap();

    let new = client_token(&app, &client_id, &secret).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&new).unwrap();
    assert_eq!(
        header.kid.as_deref(),
        Some(kid.as_str()),
        "the new key signs"
    );
    assert_ne!(jsonwebtoken::decode_header(&old).unwrap().kid, header.kid);
    assert_eq!(
        crm_status(&app, &new, Method::GET, "/v1/customers").await,
        StatusCode::OK,
        "new key on first use"
    );
    assert_eq!(
        crm_status(&app, &old, Method::GET, "/v1/customers").await,
        StatusCode::OK,
        "old key until its tokens expire"
    );

    let jwks: serde_json::Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "both keys published"
    );
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private parts published"
    );
}

#[tokio::test]
async fn suspended_tenants_get_no_tokens() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let (client_id, secret, _) = t.service_account(&["customers:read"]).await;
    assert_eq!(
        client_token(&app, &client_id, &secret).await.0,
        StatusCode::OK
    );

    let operator = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let ops = t.as_token(&app.token(operator, &["tenants:admin"]));
    let (s, v) = ops
        .post(
            &format!("/v1/tenants/{}/suspend", t.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "suspended");
    let (s, body) = client_token(&app, &client_id, &secret).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // A tenant admin is no platform operator, even holding the permission name.
    let (s, _) = t
        .as_token(&app.token(t.id, &["tenants:admin"]))
        .get("/v1/tenants")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, list) = ops.get("/v1/tenants").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list["data"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn api_keys_exchange_for_tokens_within_their_creator_s_permissions() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let (s, v) = t.post("/v1/api-keys", serde_json::json!({"name": "ci", "permissions": ["customers:read"], "rate_limit_per_minute": 10})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let key = v["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("psa_"));
    let id = v["id"].as_str().unwrap().to_owned();

    let exchange = |k: String| {
        let app = &app;
        async move {
            let res = app
                .http
                .post(app.url("/oauth/token"))
                .form(&[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token_type", "urn:psa:token-type:api-key"),
                    ("subject_token", k.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, body) = exchange(key.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["rate_limit_per_minute"], 10);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        crm_status(&app, token, Method::GET, "/v1/customers").await,
        StatusCode::OK
    );
    assert_eq!(
        crm_status(&app, token, Method::POST, "/v1/customers").await,
        StatusCode::FORBIDDEN
    );

    let tampered = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(exchange(tampered).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.delete(&format!("/v1/api-keys/{id}")).await,
        StatusCode::NO_CONTENT
    );
    let (s, body) = exchange(key).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "revoked"
    );

    let limited = t.as_token(&app.token(t.id, &["api_keys:write", "customers:read"]));
    let (s, _) = limited
        .post(
            "/v1/api-keys",
            serde_json::json!({"name": "x", "permissions": ["customers:write"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a key cannot carry more than its creator holds"
    );
}

/// Housekeeping drops authorization codes and refresh tokens a day after
/// they expired; live ones stay.
#[tokio::test]
async fn housekeeping_drops_long_expired_codes_and_refresh_tokens() {
    let app = crate::app().await;
    for (code, expires) in [("gone", "-2 days"), ("live", "1 minute")] {
        sqlx::query(
            "insert into auth.authorization_codes (tenant_id, code_hash, user_id, client_id, redirect_uri, code_challenge, expires_at)
             values ($1, $2, $3, 'psa-web', 'http://x/cb', 'c', now() + $4::interval)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(code)
        .bind(uuid::Uuid::now_v7())
        .bind(expires)
        .execute(&app.db.admin)
        .await
        .unwrap();
    }
    let pool = app.db.module_pool(&psa_auth::module()).unwrap();
    psa_db::housekeeping_once(&pool, "auth").await.unwrap();
    let left: Vec<String> = sqlx::query_scalar("select code_hash from auth.authorization_codes")
        .fetch_all(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(left, ["live"]);
}
