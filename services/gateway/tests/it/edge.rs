use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{CountingUpstream, gateway, tenant};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Forged and invalid tokens are refused at the edge; none reaches a module.
#[tokio::test]
async fn forged_tokens_never_reach_a_module() {
    let upstream = CountingUpstream::start().await;
    let url = upstream.url.clone();
    let app = gateway(move |cfg| {
        cfg.gateway.upstreams.insert("crm".into(), url);
    })
    .await;
    let t = Uuid::now_v7();
    let claims = || {
        json!({"iss": psa_testkit::ISSUER, "aud": psa_testkit::AUDIENCE, "sub": "u", "iat": now(), "exp": now() + 300,
                           "tenant_id": t.to_string(), "permissions": ["customers:read"]})
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        app.key.sign_raw(Some("at+jwt"), &c).unwrap()
    };
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let public_x = serde_json::to_value(&app.key.jwks().keys[0]).unwrap()["x"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hs = Header::new(Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    hs.kid = Some(app.key.kid().into());
    let good = app.key.sign_raw(Some("at+jwt"), &claims()).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let mut escalated = claims();
    escalated["permissions"] = json!(["customers:write"]);

    let cases: Vec<(&str, String)> = vec![
        ("expired", with(&|c| c["exp"] = json!(now() - 3600))),
        (
            "nbf in the future",
            with(&|c| c["nbf"] = json!(now() + 3600)),
        ),
        ("string nbf", with(&|c| c["nbf"] = json!(now().to_string()))),
        (
            "string exp",
            with(&|c| c["exp"] = json!((now() + 300).to_string())),
        ),
        (
            "wrong iss",
            with(&|c| c["iss"] = json!("https://evil.example")),
        ),
        ("wrong aud", with(&|c| c["aud"] = json!("other"))),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt"})),
                b64(&claims())
            ),
        ),
        (
            "HS256 with the public key",
            jsonwebtoken::encode(
                &hs,
                &claims(),
                &EncodingKey::from_secret(public_x.as_bytes()),
            )
            .unwrap(),
        ),
        (
            "typ JWT from own issuer",
            app.key.sign_raw(Some("JWT"), &claims()).unwrap(),
        ),
        (
            "unknown kid",
            psa_authn::keys::SigningKey::generate()
                .sign_raw(Some("at+jwt"), &claims())
                .unwrap(),
        ),
        (
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]),
        ),
        (
            "unknown API key",
            format!(
                "psa_{}_{}_{}",
                t.simple(),
                Uuid::now_v7().simple(),
                "x".repeat(43)
            ),
        ),
    ];
    for (name, token) in &cases {
        let res = app
            .http
            .get(app.url("/v1/customers"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{name}"
        );
    }
    let none = app.http.get(app.url("/v1/customers")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key("www-authenticate"));
    assert_eq!(upstream.hits(), 0, "no refused request reached the module");

    let ok = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(upstream.hits(), 1, "the counter does count");
}

#[tokio::test]
async fn permissions_unknown_paths_and_headers() {
    let app = gateway(|_| {}).await;
    let t = Uuid::now_v7();
    let reader = app.token(t, &["customers:read"]);
    let res = app
        .http
        .post(app.url("/v1/customers"))
        .bearer_auth(&reader)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .http
        .get(app.url("/v1/no-such-thing"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(&reader)
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-request-id"], "client-chosen-42");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("ratelimit-policy"));

    // The OIDC endpoints need no token.
    let disc = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(disc.status(), StatusCode::OK);
}

/// Every write leaves one audit row with the request id the client saw; a
/// tenant's admin reads only its own tenant's rows.
#[tokio::test]
async fn writes_are_audited_per_tenant() {
    let app = gateway(|_| {}).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let writer = app.token(a, &["customers:write", "customers:read"]);
    let res = app
        .http
        .post(app.url("/v1/customers"))
        .bearer_auth(&writer)
        .header("x-request-id", "write-1")
        .json(&json!({"name": "Audited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .http
        .patch(app.url(&format!("/v1/customers/{id}")))
        .bearer_auth(&writer)
        .header("x-request-id", "write-2")
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.http
        .get(app.url("/v1/customers"))
        .bearer_auth(&writer)
        .header("x-request-id", "read-1")
        .send()
        .await
        .unwrap();

    let auditor = app.token(a, &["audit:read"]);
    let rows = poll_audit(&app, &auditor, 2).await;
    let seen: Vec<(String, String, i64, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r["request_id"].as_str().unwrap().into(),
                r["method"].as_str().unwrap().into(),
                r["status"].as_i64().unwrap(),
                r["resource_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "write-1".to_owned(),
                "POST".to_owned(),
                201,
                Some(id.clone())
            ),
            (
                "write-2".to_owned(),
                "PATCH".to_owned(),
                422,
                Some(id.clone())
            ),
        ],
        "one row per write, none for reads"
    );

    let other = app.token(b, &["audit:read"]);
    let theirs: Value = app
        .http
        .get(app.url("/v1/audit-log"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        theirs["data"].as_array().unwrap().is_empty(),
        "tenant B reads none of A's rows"
    );
    let no_perm = app
        .http
        .get(app.url("/v1/audit-log"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(no_perm.status(), StatusCode::FORBIDDEN);
}

/// The audit writer batches off the request path; wait (bounded) for the rows.
async fn poll_audit(app: &psa_testkit::TestApp, token: &str, want: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page: Value = app
            .http
            .get(app.url("/v1/audit-log"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rows = page["data"].as_array().unwrap().clone();
        if rows.len() >= want || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// API keys work at the edge: exchanged for a short-lived token the module verifies.
#[tokio::test]
async fn api_keys_are_exchanged_at_the_edge() {
    let app = gateway(|_| {}).await;
    let t = tenant(&app).await;
    let admin = app.token(t, &["api_keys:write", "customers:read"]);
    let key: Value = app
        .http
        .post(app.url("/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "permissions": ["customers:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let res = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .http
        .post(app.url("/v1/customers"))
        .bearer_auth(&key)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the key's scope holds");
}
