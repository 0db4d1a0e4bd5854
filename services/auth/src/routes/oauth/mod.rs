//! The OIDC/OAuth endpoints at their standard, unversioned paths:
//! discovery, JWKS, the token endpoint and the sign-in page of the
//! authorization endpoint. They are described by discovery rather than
//! OpenAPI, and take no `Idempotency-Key` (OAuth has its own rules: a code
//! is spent on first use, a refresh token rotates).

mod authorize;
mod grants;
mod login;
mod page;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::ClientIp;
use crate::crypto::signing;
use crate::domain::oauth::{TOKEN_EXCHANGE, TokenResponse};
use crate::error::AuthError;
use crate::state::AuthState;

pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth/token", post(token))
        .route(
            "/oauth/authorize",
            get(authorize::page).post(authorize::submit),
        )
}

async fn discovery(State(state): State<AuthState>) -> Response {
    let iss = state.issuer();
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "access_token_signing_alg_values_supported": ["EdDSA"],
    }))
    .into_response()
}

async fn jwks(State(state): State<AuthState>) -> Result<Response, AuthError> {
    let set = signing::published(&state.store.pool, &state.master).await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(set),
    )
        .into_response())
}

/// An `application/x-www-form-urlencoded` body, as OAuth requests carry.
fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(psa_http::Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_detail("expected application/x-www-form-urlencoded")
            .into());
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|_| AuthError::oauth("invalid_request", "malformed form body"))
}

/// `POST /oauth/token`: one grant per request, never cached.
async fn token(
    State(state): State<AuthState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, AuthError> {
    let params = form(&headers, &body)?;
    let grant = params
        .get("grant_type")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let issued = match grant {
        Some("client_credentials") => {
            grants::client_credentials(&state, &headers, &params, ip).await?
        }
        Some("authorization_code") => grants::authorization_code(&state, &params).await?,
        Some("refresh_token") => grants::refresh(&state, &params).await?,
        Some(TOKEN_EXCHANGE) => grants::api_key_exchange(&state, &params).await?,
        Some(_) => {
            return Err(AuthError::oauth(
                "unsupported_grant_type",
                "grant_type is not supported",
            ));
        }
        None => {
            return Err(AuthError::oauth(
                "invalid_request",
                "grant_type is required",
            ));
        }
    };
    Ok(no_store(issued))
}

fn no_store(body: TokenResponse) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(body),
    )
        .into_response()
}
