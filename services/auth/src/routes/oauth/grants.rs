//! The grants of the token endpoint: client credentials (service
//! accounts), authorization code with PKCE, refresh with rotation and reuse
//! detection, and the exchange of an API key for a short-lived token.

use std::collections::{BTreeSet, HashMap};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use psa_kernel::Tx;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::crypto::secrets::{constant_time_eq, sha256_hex, verify_secret};
use crate::crypto::tokens;
use crate::domain::api_key::{Resolved, parse_key};
use crate::domain::audit::Entry;
use crate::domain::oauth::{API_KEY_TOKEN_TYPE, TokenResponse, narrow, pkce_challenge, tenant_of};
use crate::domain::service_account::AccountStatus;
use crate::domain::user::UserStatus;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{perms, repo};

type Params = HashMap<String, String>;

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a String, AuthError> {
    params
        .get(name)
        .ok_or_else(|| AuthError::oauth("invalid_request", format!("{name} is required")))
}

fn invalid_grant(why: &str) -> AuthError {
    AuthError::oauth("invalid_grant", why.to_owned())
}

/// Client credentials from HTTP Basic (RFC 6749 2.3.1) or the form.
fn client_auth(headers: &HeaderMap, params: &Params) -> Option<(String, String)> {
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

pub async fn client_credentials(
    state: &AuthState,
    headers: &HeaderMap,
    params: &Params,
    ip: Option<String>,
) -> Result<TokenResponse, AuthError> {
    let bad_client = || AuthError::oauth("invalid_client", "client authentication failed");
    let (client_id, secret) = client_auth(headers, params).ok_or_else(bad_client)?;
    let tenant = client_id
        .strip_prefix("sa.")
        .and_then(tenant_of)
        .ok_or_else(bad_client)?;
    let mut tx = Tx::for_tenant(&state.store, tenant).await?;
    let Some(account) = repo::service_accounts::by_client_id(&mut tx, &client_id).await? else {
        return Err(bad_client());
    };
    let hashes = repo::service_accounts::live_secrets(&mut tx, account.id).await?;
    let ok =
        account.status == AccountStatus::Active && hashes.iter().any(|h| verify_secret(&secret, h));
    let target = Some(account.id.to_string());
    let entry = Entry::attempt(
        &client_id,
        &ip,
        "service_account.token",
        target,
        ok,
        json!({}),
    );
    repo::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    if !ok {
        return Err(bad_client());
    }
    let granted = account.permissions.into_iter().collect();
    let permissions = narrow(granted, params.get("scope").map(String::as_str))?;
    let ttl = state.config.auth_server.access_token_ttl_secs;
    let subject = account.id.to_string();
    let access =
        tokens::issue_access(state, tenant, &subject, &client_id, &permissions, ttl).await?;
    Ok(TokenResponse::bearer(access, ttl, permissions, None))
}

/// What an active user's roles grant; None for a suspended or deleted user.
async fn user_permissions(
    conn: &mut PgConnection,
    state: &AuthState,
    user_id: Uuid,
) -> Result<Option<BTreeSet<String>>, AuthError> {
    match repo::users::standing(conn, user_id).await? {
        Some((UserStatus::Active, roles)) => {
            Ok(Some(perms::of_roles(conn, &state.registry, &roles).await?))
        }
        _ => Ok(None),
    }
}

/// An access token and the first refresh token of a new session (family)
/// or the next one of a running session.
async fn user_tokens(
    mut tx: Tx,
    state: &AuthState,
    family: Uuid,
    user_id: Uuid,
    client_id: &str,
) -> Result<TokenResponse, AuthError> {
    let permissions = user_permissions(&mut tx, state, user_id)
        .await?
        .ok_or_else(|| invalid_grant("the user is not active"))?;
    let tenant = tx.tenant();
    let ttl = state.config.auth_server.refresh_token_ttl_secs;
    let refresh = tokens::issue_refresh(&mut tx, tenant, family, user_id, client_id, ttl).await?;
    tx.commit().await?;
    let ttl = state.config.auth_server.access_token_ttl_secs;
    let subject = user_id.to_string();
    let access =
        tokens::issue_access(state, tenant, &subject, client_id, &permissions, ttl).await?;
    Ok(TokenResponse::bearer(
        access,
        ttl,
        permissions,
        Some(refresh),
    ))
}

pub async fn authorization_code(
    state: &AuthState,
    params: &Params,
) -> Result<TokenResponse, AuthError> {
    let code = required(params, "code")?;
    let verifier = required(params, "code_verifier")?;
    let client_id = required(params, "client_id")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let tenant = tenant_of(code).ok_or_else(|| invalid_grant("unknown code"))?;
    let mut tx = Tx::for_tenant(&state.store, tenant).await?;
    let Some(stored) = repo::oauth::take_code(&mut tx, &sha256_hex(code)).await? else {
        return Err(invalid_grant("unknown code"));
    };
    if stored.used || stored.expired {
        return Err(invalid_grant("the code was used or has expired"));
    }
    let pkce_ok = constant_time_eq(
        pkce_challenge(verifier).as_bytes(),
        stored.code_challenge.as_bytes(),
    );
    if &stored.client_id != client_id || &stored.redirect_uri != redirect_uri || !pkce_ok {
        // The code stays spent.
        tx.commit().await?;
        return Err(invalid_grant(
            "code_verifier, client_id or redirect_uri does not match",
        ));
    }
    user_tokens(tx, state, Uuid::now_v7(), stored.user_id, client_id).await
}

pub async fn refresh(state: &AuthState, params: &Params) -> Result<TokenResponse, AuthError> {
    let token = required(params, "refresh_token")?;
    let tenant = tenant_of(token).ok_or_else(|| invalid_grant("unknown refresh token"))?;
    let mut tx = Tx::for_tenant(&state.store, tenant).await?;
    let hash = sha256_hex(token);
    let Some(stored) = repo::oauth::lock_refresh(&mut tx, &hash).await? else {
        return Err(invalid_grant("unknown refresh token"));
    };
    if stored.rotated && !stored.revoked {
        // A rotated token came back: it was stolen or replayed. Revoke the family.
        repo::oauth::revoke_family(&mut tx, stored.family).await?;
        let entry = Entry::attempt(
            &stored.user_id.to_string(),
            &None,
            "refresh_token.reuse_detected",
            Some(stored.family.to_string()),
            false,
            json!({}),
        );
        repo::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Err(invalid_grant(
            "refresh token reuse detected; the session was revoked",
        ));
    }
    if stored.revoked || stored.expired {
        return Err(invalid_grant("the refresh token is revoked or expired"));
    }
    if params
        .get("client_id")
        .is_some_and(|c| *c != stored.client_id)
    {
        return Err(invalid_grant("the refresh token belongs to another client"));
    }
    repo::oauth::mark_rotated(&mut tx, &hash).await?;
    user_tokens(tx, state, stored.family, stored.user_id, &stored.client_id).await
}

/// The key if it is well-formed, live and its secret matches (its last use is recorded).
async fn resolve(state: &AuthState, key: &str) -> Result<Option<Resolved>, AuthError> {
    let Some((tenant, id, secret)) = parse_key(key) else {
        return Ok(None);
    };
    let mut tx = Tx::for_tenant(&state.store, tenant).await?;
    let live = repo::api_keys::live(&mut tx, id).await?;
    let Some(live) = live.filter(|k| verify_secret(secret, &k.key_hash)) else {
        return Ok(None);
    };
    repo::api_keys::touch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Some(Resolved {
        tenant,
        id,
        permissions: live.permissions.into_iter().collect(),
        rate_limit_per_minute: live.rate_limit_per_minute,
    }))
}

/// API key → short-lived access token (what the gateway forwards to modules).
pub async fn api_key_exchange(
    state: &AuthState,
    params: &Params,
) -> Result<TokenResponse, AuthError> {
    if params.get("subject_token_type").map(String::as_str) != Some(API_KEY_TOKEN_TYPE) {
        return Err(AuthError::oauth(
            "invalid_request",
            format!("subject_token_type must be {API_KEY_TOKEN_TYPE}"),
        ));
    }
    let key = required(params, "subject_token")?;
    let resolved = resolve(state, key)
        .await?
        .ok_or_else(|| invalid_grant("invalid API key"))?;
    let ttl = state.config.auth_server.api_key_token_ttl_secs;
    let subject = format!("api-key:{}", resolved.id);
    let permissions = resolved.permissions;
    let access = tokens::issue_access(
        state,
        resolved.tenant,
        &subject,
        &subject,
        &permissions,
        ttl,
    )
    .await?;
    let mut res = TokenResponse::bearer(access, ttl, permissions, None);
    res.rate_limit_per_minute = resolved.rate_limit_per_minute;
    Ok(res)
}
