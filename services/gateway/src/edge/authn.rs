//! Authentication at the edge: a JWT is verified here; an API key
//! (`psa_…`) is exchanged for a short-lived JWT at the auth module (cached
//! briefly) and forwarded in its place.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use psa_authn::{AuthError as TokenError, Caller};
use psa_http::Problem;
use sha2::{Digest, Sha256};

use crate::ratelimit::Bucket;
use crate::state::{CachedKey, GatewayState};

/// Who is calling, as far as rate limits and the audit log are concerned.
pub(crate) struct Identity {
    pub caller: Option<Caller>,
    pub bucket: Bucket,
}

fn token_problem(err: TokenError) -> Problem {
    match err {
        TokenError::Invalid(why) => {
            tracing::info!(reason = %why, "token rejected at the edge");
            Problem::unauthorized(
                Some("invalid_token"),
                "the bearer token is invalid or expired",
            )
        }
        TokenError::Unavailable(why) => {
            tracing::warn!(reason = %why, "token keys unavailable at the edge");
            Problem::service_unavailable("token verification keys are unavailable", 5)
        }
    }
}

pub(crate) async fn authenticate(
    state: &GatewayState,
    req: &mut Request,
) -> Result<Identity, Problem> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized(None, "a bearer token is required"))?
        .to_str()
        .ok()
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Problem::unauthorized(Some("invalid_request"), "use the Bearer scheme"))?;
    if token.starts_with("psa_") {
        let (jwt, caller, limit) = api_key(state, &token).await?;
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {jwt}")) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
        return Ok(Identity {
            bucket: Bucket::api_key(&caller, limit),
            caller: Some(caller),
        });
    }
    let caller = state.verifier.verify(&token).await.map_err(token_problem)?;
    Ok(Identity {
        bucket: Bucket::token(&caller),
        caller: Some(caller),
    })
}

/// Exchanges an API key for a short-lived token at the auth module (cached briefly).
async fn api_key(
    state: &GatewayState,
    key: &str,
) -> Result<(String, Caller, Option<u32>), Problem> {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    {
        let cache = state.api_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&digest).filter(|c| c.until > Instant::now()) {
            return Ok((c.token.clone(), c.caller.clone(), c.limit));
        }
    }
    let auth = state
        .upstreams
        .get("auth")
        .ok_or_else(|| Problem::service_unavailable("API keys need the auth module", 5))?;
    let form = serde_urlencoded::to_string([
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token_type", "urn:psa:token-type:api-key"),
        ("subject_token", key),
    ])
    .map_err(|e| Problem::internal(&e))?;
    let req = axum::http::Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| Problem::internal(&e))?;
    let res = auth
        .forward(
            "auth",
            req,
            Duration::from_secs(state.config.gateway.upstream_timeout_secs),
        )
        .await;
    let status = res.status();
    if status.is_server_error() {
        return Err(Problem::service_unavailable(
            "the auth service is unavailable",
            5,
        ));
    }
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .map_err(|_| Problem::service_unavailable("the auth service is unavailable", 5))?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let Some(jwt) = body["access_token"]
        .as_str()
        .filter(|_| status.is_success())
    else {
        return Err(Problem::unauthorized(
            Some("invalid_token"),
            "the API key is invalid, expired or revoked",
        ));
    };
    let caller = state.verifier.verify(jwt).await.map_err(token_problem)?;
    let limit = body["rate_limit_per_minute"].as_u64().map(|l| l as u32);
    let ttl = body["expires_in"]
        .as_u64()
        .unwrap_or(60)
        .saturating_sub(30)
        .min(state.config.gateway.api_key_cache_secs);
    let mut cache = state.api_keys.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() > 10_000 {
        cache.retain(|_, c| c.until > Instant::now());
    }
    cache.insert(
        digest,
        CachedKey {
            token: jwt.to_owned(),
            caller: caller.clone(),
            limit,
            until: Instant::now() + Duration::from_secs(ttl),
        },
    );
    Ok((jwt.to_owned(), caller, limit))
}
