//! Tokens that must be refused: forged, tampered or invalid variations of a
//! good access token from the test issuer, each named for the message of a
//! failing assertion.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use psa_authn::keys::SigningKey;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{AUDIENCE, ISSUER};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// The claims of a valid token for `tenant` reading customers.
pub fn claims(tenant: Uuid) -> Value {
    let now = now();
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + 300,
           "tenant_id": tenant.to_string(), "permissions": ["customers:read"]})
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Every way this suite knows to get a token wrong; `key` is the trusted one.
pub fn tokens(key: &SigningKey, tenant: Uuid) -> Vec<(&'static str, String)> {
    let now = now();
    let sign = |c: &Value| key.sign_raw(Some("at+jwt"), c).expect("signed");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(tenant);
        f(&mut c);
        sign(&c)
    };
    let public_x = serde_json::to_value(&key.jwks().keys[0]).expect("a JWK")["x"]
        .as_str()
        .expect("its public key")
        .to_owned();
    let hs256_with_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(
            &h,
            &claims(tenant),
            &EncodingKey::from_secret(public_x.as_bytes()),
        )
        .expect("HS256 signs")
    };
    let tampered = {
        let good = sign(&claims(tenant));
        let parts: Vec<&str> = good.split('.').collect();
        let mut c = claims(tenant);
        c["permissions"] = json!(["customers:read", "customers:write", "contracts:write"]);
        format!("{}.{}.{}", parts[0], b64(&c), parts[2])
    };
    vec![
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
                c.as_object_mut().expect("an object").remove("exp");
            }),
        ),
        (
            "no sub",
            with(&|c| {
                c.as_object_mut().expect("an object").remove("sub");
            }),
        ),
        (
            "typ JWT from own issuer",
            key.sign_raw(Some("JWT"), &claims(tenant)).expect("signed"),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt"})),
                b64(&claims(tenant))
            ),
        ),
        ("HS256 signed with the public key", hs256_with_public_key),
        ("tampered payload", tampered),
        (
            "unknown kid",
            SigningKey::generate()
                .sign_raw(Some("at+jwt"), &claims(tenant))
                .expect("signed"),
        ),
        ("garbage", "not.a.jwt".into()),
    ]
}
