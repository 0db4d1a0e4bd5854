//! The OIDC/OAuth side: discovery, JWKS, the token endpoint (client
//! credentials, authorization code + PKCE, refresh with rotation, API-key
//! exchange) and the sign-in page of the authorization endpoint.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, Event, client_ip};
use crate::error::AuthError;
use crate::login;
use crate::secrets::{constant_time_eq, sha256_hex, verify_secret};
use crate::state::AuthState;
use crate::tokens::{self, TokenResponse, tenant_of};
use crate::{perms, signing};

pub const API_KEY_TOKEN_TYPE: &str = "urn:psa:token-type:api-key";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub async fn discovery(State(state): State<AuthState>) -> Response {
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

pub async fn jwks(State(state): State<AuthState>) -> Result<Response, AuthError> {
    let set = signing::published(&state.pool, &state.master).await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(set),
    )
        .into_response())
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AuthError> {
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

/// `POST /oauth/token`
pub async fn token(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AuthError> {
    let params = form(&headers, &body)?;
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let ip = client_ip(&headers);
    match get("grant_type") {
        Some("client_credentials") => client_credentials(&state, &headers, &params, ip)
            .await
            .map(no_store),
        Some("authorization_code") => authorization_code(&state, &params).await.map(no_store),
        Some("refresh_token") => refresh(&state, &params).await.map(no_store),
        Some(TOKEN_EXCHANGE) => api_key_exchange(&state, &params).await.map(no_store),
        Some(_) => Err(AuthError::oauth(
            "unsupported_grant_type",
            "grant_type is not supported",
        )),
        None => Err(AuthError::oauth(
            "invalid_request",
            "grant_type is required",
        )),
    }
}

/// Client credentials from HTTP Basic (RFC 6749 2.3.1) or the form.
fn client_auth(headers: &HeaderMap, params: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
    {
        let decoded = STANDARD.decode(basic.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|v| v.into_iter().next().map(|(_, v)| v))
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((
        params.get("client_id")?.clone(),
        params.get("client_secret")?.clone(),
    ))
}

/// Narrows granted permissions to a requested `scope`, if any.
fn narrow(
    granted: BTreeSet<String>,
    scope: Option<&String>,
) -> Result<BTreeSet<String>, AuthError> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(granted);
    };
    let wanted: BTreeSet<String> = scope.split_whitespace().map(str::to_owned).collect();
    if !wanted.is_subset(&granted) {
        return Err(AuthError::oauth(
            "invalid_scope",
            "the scope asks for permissions the client does not have",
        ));
    }
    Ok(wanted)
}

async fn client_credentials(
    state: &AuthState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    ip: Option<String>,
) -> Result<TokenResponse, AuthError> {
    let bad_client = || AuthError::oauth("invalid_client", "client authentication failed");
    let (client_id, secret) = client_auth(headers, params).ok_or_else(bad_client)?;
    let tenant = client_id
        .strip_prefix("sa.")
        .and_then(tenant_of)
        .ok_or_else(bad_client)?;
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    let account: Option<(Uuid, Vec<String>, String)> = sqlx::query_as(
        "select id, permissions, status from auth.service_accounts where client_id = $1",
    )
    .bind(&client_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((account_id, permissions, status)) = account else {
        return Err(bad_client());
    };
    let hashes: Vec<String> = sqlx::query_scalar(
        "select secret_hash from auth.client_secrets where service_account_id = $1 and (expires_at is null or expires_at > now())",
    )
    .bind(account_id)
    .fetch_all(&mut *tx)
    .await?;
    let ok = status == "active" && hashes.iter().any(|h| verify_secret(&secret, h));
    audit::record(
        &mut tx,
        Event {
            action: "service_account.token",
            actor: &client_id,
            target: Some(account_id.to_string()),
            success: ok,
            ip,
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    if !ok {
        return Err(bad_client());
    }
    let perms = narrow(permissions.into_iter().collect(), params.get("scope"))?;
    let ttl = state.config.auth_server.access_token_ttl_secs;
    let access = tokens::issue_access(
        state,
        tenant,
        &account_id.to_string(),
        &client_id,
        &perms,
        ttl,
    )
    .await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: None,
        scope: perms.into_iter().collect::<Vec<_>>().join(" "),
        rate_limit_per_minute: None,
    })
}

pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn user_permissions(
    conn: &mut sqlx::PgConnection,
    registry: &psa_runtime::Registry,
    user_id: Uuid,
) -> Result<Option<BTreeSet<String>>, AuthError> {
    let row: Option<(Vec<String>, String)> =
        sqlx::query_as("select roles, status from auth.users where id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        Some((roles, status)) if status == "active" => {
            Ok(Some(perms::of_roles(conn, registry, &roles).await?))
        }
        _ => Ok(None),
    }
}

async fn authorization_code(
    state: &AuthState,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, AuthError> {
    let invalid_grant = |why: &str| AuthError::oauth("invalid_grant", why.to_owned());
    let code = params
        .get("code")
        .ok_or_else(|| AuthError::oauth("invalid_request", "code is required"))?;
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| AuthError::oauth("invalid_request", "code_verifier is required"))?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AuthError::oauth("invalid_request", "client_id is required"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| AuthError::oauth("invalid_request", "redirect_uri is required"))?;
    let tenant = tenant_of(code).ok_or_else(|| invalid_grant("unknown code"))?;
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    let row: Option<(Uuid, String, String, String, bool, bool)> = sqlx::query_as(
        "select user_id, client_id, redirect_uri, code_challenge, used_at is not null, expires_at < now()
         from auth.authorization_codes where code_hash = $1 for update",
    )
    .bind(sha256_hex(code))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, c_client, c_redirect, challenge, used, expired)) = row else {
        return Err(invalid_grant("unknown code"));
    };
    if used || expired {
        return Err(invalid_grant("the code was used or has expired"));
    }
    // Spent on first presentation, whatever the outcome.
    sqlx::query("update auth.authorization_codes set used_at = now() where code_hash = $1")
        .bind(sha256_hex(code))
        .execute(&mut *tx)
        .await?;
    let pkce_ok = constant_time_eq(pkce_challenge(verifier).as_bytes(), challenge.as_bytes());
    if &c_client != client_id || &c_redirect != redirect_uri || !pkce_ok {
        tx.commit().await?;
        return Err(invalid_grant(
            "code_verifier, client_id or redirect_uri does not match",
        ));
    }
    let perms = user_permissions(&mut tx, &state.registry, user_id)
        .await?
        .ok_or_else(|| invalid_grant("the user is not active"))?;
    let refresh = tokens::issue_refresh(
        &mut tx,
        tenant,
        Uuid::now_v7(),
        user_id,
        client_id,
        state.config.auth_server.refresh_token_ttl_secs,
    )
    .await?;
    tx.commit().await?;
    let ttl = state.config.auth_server.access_token_ttl_secs;
    let access =
        tokens::issue_access(state, tenant, &user_id.to_string(), client_id, &perms, ttl).await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: Some(refresh),
        scope: perms.into_iter().collect::<Vec<_>>().join(" "),
        rate_limit_per_minute: None,
    })
}

async fn refresh(
    state: &AuthState,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, AuthError> {
    let invalid_grant = |why: &str| AuthError::oauth("invalid_grant", why.to_owned());
    let token = params
        .get("refresh_token")
        .ok_or_else(|| AuthError::oauth("invalid_request", "refresh_token is required"))?;
    let tenant = tenant_of(token).ok_or_else(|| invalid_grant("unknown refresh token"))?;
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    let row: Option<(Uuid, Uuid, String, bool, bool, bool)> = sqlx::query_as(
        "select family_id, user_id, client_id, rotated_at is not null, revoked_at is not null, expires_at < now()
         from auth.refresh_tokens where token_hash = $1 for update",
    )
    .bind(sha256_hex(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((family, user_id, client_id, rotated, revoked, expired)) = row else {
        return Err(invalid_grant("unknown refresh token"));
    };
    if rotated && !revoked {
        // A rotated token came back: it was stolen or replayed. Revoke the family.
        sqlx::query("update auth.refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null")
            .bind(family)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Event {
                action: "refresh_token.reuse_detected",
                actor: &user_id.to_string(),
                target: Some(family.to_string()),
                success: false,
                ip: None,
                detail: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        return Err(invalid_grant(
            "refresh token reuse detected; the session was revoked",
        ));
    }
    if revoked || expired {
        return Err(invalid_grant("the refresh token is revoked or expired"));
    }
    if params.get("client_id").is_some_and(|c| *c != client_id) {
        return Err(invalid_grant("the refresh token belongs to another client"));
    }
    sqlx::query("update auth.refresh_tokens set rotated_at = now() where token_hash = $1")
        .bind(sha256_hex(token))
        .execute(&mut *tx)
        .await?;
    let perms = user_permissions(&mut tx, &state.registry, user_id)
        .await?
        .ok_or_else(|| invalid_grant("the user is not active"))?;
    let next = tokens::issue_refresh(
        &mut tx,
        tenant,
        family,
        user_id,
        &client_id,
        state.config.auth_server.refresh_token_ttl_secs,
    )
    .await?;
    tx.commit().await?;
    let ttl = state.config.auth_server.access_token_ttl_secs;
    let access =
        tokens::issue_access(state, tenant, &user_id.to_string(), &client_id, &perms, ttl).await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: Some(next),
        scope: perms.into_iter().collect::<Vec<_>>().join(" "),
        rate_limit_per_minute: None,
    })
}

/// API key → short-lived access token (what the gateway forwards to modules).
async fn api_key_exchange(
    state: &AuthState,
    params: &HashMap<String, String>,
) -> Result<TokenResponse, AuthError> {
    if params.get("subject_token_type").map(String::as_str) != Some(API_KEY_TOKEN_TYPE) {
        return Err(AuthError::oauth(
            "invalid_request",
            format!("subject_token_type must be {API_KEY_TOKEN_TYPE}"),
        ));
    }
    let key = params
        .get("subject_token")
        .ok_or_else(|| AuthError::oauth("invalid_request", "subject_token is required"))?;
    let resolved = crate::admin::api_keys::resolve(state, key)
        .await?
        .ok_or_else(|| AuthError::oauth("invalid_grant", "invalid API key"))?;
    let ttl = state.config.auth_server.api_key_token_ttl_secs;
    let subject = format!("api-key:{}", resolved.id);
    let access = tokens::issue_access(
        state,
        resolved.tenant,
        &subject,
        &subject,
        &resolved.permissions,
        ttl,
    )
    .await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: None,
        scope: resolved
            .permissions
            .into_iter()
            .collect::<Vec<_>>()
            .join(" "),
        rate_limit_per_minute: resolved.rate_limit_per_minute,
    })
}

/// The parameters an authorization request carries through the sign-in form.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct AuthorizeRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl AuthorizeRequest {
    /// Checks the request against the registered clients. Errors here are
    /// shown, never redirected: the redirect URI is not trusted yet.
    pub fn validate(&self, state: &AuthState) -> Result<(), AuthError> {
        let client = state
            .config
            .auth_server
            .clients
            .iter()
            .find(|c| c.client_id == self.client_id)
            .ok_or_else(|| AuthError::oauth("unauthorized_client", "unknown client_id"))?;
        if !client.redirect_uris.contains(&self.redirect_uri) {
            return Err(AuthError::oauth(
                "invalid_request",
                "redirect_uri is not registered for this client",
            ));
        }
        if self.response_type != "code" {
            return Err(AuthError::oauth(
                "unsupported_response_type",
                "only response_type=code",
            ));
        }
        if self.code_challenge_method != "S256" || self.code_challenge.len() < 43 {
            return Err(AuthError::oauth(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ));
        }
        Ok(())
    }
}

/// `GET /oauth/authorize`: the sign-in page.
pub async fn authorize_page(
    State(state): State<AuthState>,
    Query(req): Query<AuthorizeRequest>,
) -> Result<Response, AuthError> {
    req.validate(&state)?;
    Ok(Html(login::page(&req, "", None)).into_response())
}

/// `POST /oauth/authorize`: checks the credentials and redirects with a code.
pub async fn authorize_submit(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AuthError> {
    let params = form(&headers, &body)?;
    let req: AuthorizeRequest = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AuthError::oauth("invalid_request", "missing authorization parameters"))?;
    req.validate(&state)?;
    let field = |k: &str| {
        params
            .get(k)
            .map(String::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let (tenant_slug, email) = (field("tenant"), field("email").to_lowercase());
    let outcome = login::check(
        &state,
        &tenant_slug,
        &email,
        &field("password"),
        &field("otp"),
        client_ip(&headers),
    )
    .await?;
    match outcome {
        login::Outcome::Ok { tenant, user_id } => {
            let code = tokens::tenant_token(tenant);
            let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
            sqlx::query(
                "insert into auth.authorization_codes (code_hash, user_id, client_id, redirect_uri, code_challenge, expires_at)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(sha256_hex(&code))
            .bind(user_id)
            .bind(&req.client_id)
            .bind(&req.redirect_uri)
            .bind(&req.code_challenge)
            .bind(Utc::now() + chrono::Duration::seconds(state.config.auth_server.auth_code_ttl_secs))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut target = url::Url::parse(&req.redirect_uri)
                .map_err(|_| AuthError::oauth("invalid_request", "bad redirect_uri"))?;
            target.query_pairs_mut().append_pair("code", &code);
            if let Some(s) = &req.state {
                target.query_pairs_mut().append_pair("state", s);
            }
            Ok(Redirect::to(target.as_str()).into_response())
        }
        login::Outcome::Retry {
            message,
            status,
            otp,
        } => {
            let page = login::page(&req, &tenant_slug, Some((&message, otp)));
            Ok((status, Html(page)).into_response())
        }
    }
}
