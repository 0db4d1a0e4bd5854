use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{app, problem};

fn claims(tenant: Uuid) -> Value {
    let now = chrono_now();
    json!({"iss": psa_testkit::ISSUER, "aud": psa_testkit::AUDIENCE, "sub": "u1", "iat": now, "exp": now + 300,
           "tenant_id": tenant.to_string(), "permissions": ["customers:read", "customers:write"]})
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge() {
    let app = app().await;
    let res = app.http.get(app.url("/v1/customers")).send().await.unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    problem(res, StatusCode::UNAUTHORIZED).await;
    assert!(challenge.unwrap().starts_with("Bearer"));

    let basic = app
        .http
        .get(app.url("/v1/customers"))
        .header("authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    problem(basic, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_401() {
    let app = app().await;
    let tenant = Uuid::now_v7();
    let now = chrono_now();
    let key = &app.key;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(tenant);
        f(&mut c);
        key.sign_raw(Some("at+jwt"), &c).unwrap()
    };
    let jwk = serde_json::to_value(&key.jwks().keys[0]).unwrap();
    let public_x = jwk["x"].as_str().unwrap().to_owned();
    let hs256_with_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(
            &h,
            &claims(tenant),
            &EncodingKey::from_secret(public_x.as_bytes()),
        )
        .unwrap()
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt"})),
        b64(&claims(tenant))
    );
    let tampered = {
        let good = key.sign_raw(Some("at+jwt"), &claims(tenant)).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let mut c = claims(tenant);
        c["permissions"] = json!(["customers:read", "customers:write", "contracts:write"]);
        format!("{}.{}.{}", parts[0], b64(&c), parts[2])
    };
    let unknown_kid = {
        let other = psa_authn::keys::SigningKey::generate();
        other.sign_raw(Some("at+jwt"), &claims(tenant)).unwrap()
    };

    let cases: Vec<(&str, String)> = vec![
        ("expired", with(&|c| c["exp"] = json!(now - 3600))),
        (
            "string exp",
            with(&|c| c["exp"] = json!((now + 300).to_string())),
        ),
        ("nbf in the future", with(&|c| c["nbf"] = json!(now + 3600))),
        ("string nbf", with(&|c| c["nbf"] = json!(now.to_string()))),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("someone-else")),
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "no sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        (
            "typ JWT from own issuer",
            key.sign_raw(Some("JWT"), &claims(tenant)).unwrap(),
        ),
        ("alg none", alg_none),
        ("HS256 signed with the public key", hs256_with_public_key),
        ("tampered payload", tampered),
        ("unknown kid", unknown_kid),
        ("garbage", "not.a.jwt".into()),
    ];
    for (name, token) in cases {
        let res = app
            .http
            .get(app.url("/v1/customers"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            res.headers()
                .get("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("invalid_token"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn missing_permission_is_403() {
    let app = app().await;
    let tenant = Uuid::now_v7();
    let read_only = app.token(tenant, &["customers:read"]);
    let res = app
        .http
        .post(app.url("/v1/customers"))
        .bearer_auth(&read_only)
        .json(&json!({"name": "A"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    let ok = app
        .http
        .get(app.url("/v1/customers"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let no_contracts = app
        .http
        .get(app.url("/v1/contracts"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    problem(no_contracts, StatusCode::FORBIDDEN).await;
}
