use psa_testkit::fixtures::{self, client_credentials};
use psa_testkit::{Client, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{Tenant, app, assert_reads_customers_only, exchange_api_key, service_account};

/// A tenant of a new app with a service account reading customers.
struct ReaderAccount {
    app: TestApp,
    anon: Client,
    t: Tenant,
    client_id: String,
    secret: String,
    id: String,
}

async fn reader_account() -> ReaderAccount {
    let app = app().await;
    let anon = app.anonymous();
    let t = Tenant::new(&app).await;
    let (client_id, secret, id) = service_account(&t.admin, &["customers:read"]).await;
    ReaderAccount {
        app,
        anon,
        t,
        client_id,
        secret,
        id,
    }
}

/// A client-credentials token carries exactly the account's permissions, and
/// the CRM (trusting the platform issuer through discovery) accepts it.
#[tokio::test]
async fn client_credentials_token_is_accepted_by_crm_with_exact_permissions() {
    let ReaderAccount {
        app,
        anon,
        client_id,
        secret,
        ..
    } = reader_account().await;

    let body = client_credentials(&anon, &client_id, &secret)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "customers:read");
    let token = body["access_token"].as_str().unwrap();
    assert_reads_customers_only(&app, token).await;
    app.client(token)
        .get("/v1/contracts")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    let body = client_credentials(&anon, &client_id, "wrong-secret").await;
    assert_eq!(body.status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let body = client_credentials(&anon, "sa.nonsense", &secret).await;
    assert_eq!(body.status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Narrowing by scope works; widening is refused.
    let res = anon
        .send(
            anon.request(Method::POST, "/oauth/token")
                .basic_auth(&client_id, Some(&secret))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "customers:write"),
                ]),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res["error"], "invalid_scope");
}

#[tokio::test]
async fn secret_rotation_keeps_the_old_secret_for_the_overlap_only() {
    let ReaderAccount {
        // Bound to a name: the app lives to the end of the test.
        app: _app,
        anon,
        t,
        client_id,
        secret: old,
        id,
    } = reader_account().await;
    let rotate_path = format!("/v1/service-accounts/{id}/rotate-secret");
    let rotate = |overlap_secs: u32| {
        t.admin
            .post(&rotate_path, json!({"overlap_secs": overlap_secs}))
    };
    let v = rotate(3600).await.assert_status(StatusCode::OK);
    let new = v["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        client_credentials(&anon, &client_id, &old).await.status,
        StatusCode::OK,
        "old secret in its overlap"
    );
    assert_eq!(
        client_credentials(&anon, &client_id, &new).await.status,
        StatusCode::OK
    );
    let v = rotate(0).await;
    let newest = v["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        client_credentials(&anon, &client_id, &old).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_credentials(&anon, &client_id, &new).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client_credentials(&anon, &client_id, &newest).await.status,
        StatusCode::OK
    );
}

/// After a key rotation the running CRM accepts new tokens on first use
/// (unknown kid → JWKS refetch) and old ones until they expire.
#[tokio::test]
async fn key_rotation_without_restart() {
    let ReaderAccount {
        app,
        anon,
        client_id,
        secret,
        ..
    } = reader_account().await;
    let old = client_credentials(&anon, &client_id, &secret).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.client(&old)
        .get("/v1/customers")
        .await
        .assert_status(StatusCode::OK);

    let pool = app.db.module_pool(&psa_auth::module()).unwrap();
    let master = psa_auth::MasterKey::from_base64(&app.config.auth_server.master_key).unwrap();
    let kid = psa_auth::signing::rotate(&pool, &master, 0, 900)
        .await
        .unwrap();

    let new = client_credentials(&anon, &client_id, &secret).await["access_token"]
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
        app.client(&new).get("/v1/customers").await.status,
        StatusCode::OK,
        "new key on first use"
    );
    assert_eq!(
        app.client(&old).get("/v1/customers").await.status,
        StatusCode::OK,
        "old key until its tokens expire"
    );

    let jwks = anon.get("/.well-known/jwks.json").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "both keys published"
    );
    assert!(!jwks.text.contains("\"d\""), "no private parts published");
}

#[tokio::test]
async fn suspended_tenants_get_no_tokens() {
    let ReaderAccount {
        app,
        anon,
        t,
        client_id,
        secret,
        ..
    } = reader_account().await;
    assert_eq!(
        client_credentials(&anon, &client_id, &secret).await.status,
        StatusCode::OK
    );

    let operator = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let ops = app.client_for(operator, &["tenants:admin"]);
    let v = ops
        .post(&format!("/v1/tenants/{}/suspend", t.id), json!({}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(v["status"], "suspended");
    let body = client_credentials(&anon, &client_id, &secret).await;
    assert_eq!(body.status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // A tenant admin is no platform operator, even holding the permission name.
    app.client_for(t.id, &["tenants:admin"])
        .get("/v1/tenants")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "platform_only");
    let list = ops.get("/v1/tenants").await.assert_status(StatusCode::OK);
    assert!(list.items().len() >= 2);
}

#[tokio::test]
async fn api_keys_exchange_for_tokens_within_their_creator_s_permissions() {
    let app = app().await;
    let anon = app.anonymous();
    let t = Tenant::new(&app).await;
    let v = fixtures::api_key(&t.admin, &["customers:read"], Some(10)).await;
    let key = v["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("psa_"));
    let id = v["id"].as_str().unwrap().to_owned();

    let body = exchange_api_key(&anon, &key)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(body["rate_limit_per_minute"], 10);
    assert_reads_customers_only(&app, body["access_token"].as_str().unwrap()).await;

    let tampered = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(
        exchange_api_key(&anon, &tampered).await.status,
        StatusCode::BAD_REQUEST
    );
    t.admin
        .delete(&format!("/v1/api-keys/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let body = exchange_api_key(&anon, &key).await;
    assert_eq!(
        (body.status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "revoked"
    );

    let limited = app.client_for(t.id, &["api_keys:write", "customers:read"]);
    let res = limited
        .post(
            "/v1/api-keys",
            json!({"name": "x", "permissions": ["customers:write"]}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "a key cannot carry more than its creator holds: {res}"
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
