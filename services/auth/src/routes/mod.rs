//! Auth's HTTP endpoints, one file per resource: the admin API under `/v1`
//! (documented in OpenAPI) and the OIDC/OAuth endpoints (standard paths,
//! described by discovery).

pub mod api_keys;
pub mod audit_events;
pub mod mfa;
pub mod oauth;
pub mod roles;
pub mod service_accounts;
pub mod tenants;
pub mod users;

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use psa_authn::Caller;
use psa_http::extract::from_value;
use psa_http::{FieldError, Problem, merge_patch};
use psa_kernel::{Stored, Tx};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::AuthError;
use crate::state::AuthState;
use crate::{perms, repo};

/// The `Cache-Control` a response that shows a secret answers with (a
/// replay included: it is part of the stored response).
pub const NO_STORE: (&str, &str) = ("cache-control", "no-store");

/// `status` with the resource and its `ETag`, as an idempotency record stores it.
pub fn stored_with_etag<T: Serialize>(
    status: axum::http::StatusCode,
    body: &T,
    version: i64,
) -> Result<Stored, Problem> {
    let etag = psa_http::conditional::etag(version);
    Ok(Stored::new(status, body)?.header("etag", etag.to_str().unwrap_or_default()))
}

/// An empty 204, as an idempotency record stores it.
pub fn no_content() -> Result<Stored, Problem> {
    Stored::new(axum::http::StatusCode::NO_CONTENT, &serde_json::Value::Null)
}

/// Where the request came from, as the proxy in front reports it (for the audit trail).
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let h = &parts.headers;
        let ip = h
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .or_else(|| h.get("x-real-ip").and_then(|v| v.to_str().ok()))
            .map(|s| s.trim().chars().take(64).collect());
        Ok(ClientIp(ip))
    }
}

/// For what users do to themselves (no permission needed): the calling
/// user's id and a transaction in their tenant. Tokens of service accounts
/// and API keys name no user.
pub async fn as_user(state: &AuthState, caller: &Caller) -> Result<(Uuid, Tx), AuthError> {
    let id = Uuid::parse_str(&caller.subject).map_err(|_| AuthError::UsersOnly)?;
    Ok((id, Tx::for_tenant(&state.store, caller.tenant()?).await?))
}

/// `patch` (RFC 7396) applied to `current`, parsed and normalized again as
/// a whole; None when the result is `current` (nothing to change).
pub fn merged<I>(
    current: &I,
    patch: &serde_json::Value,
    normalized: impl FnOnce(I) -> Result<I, Vec<FieldError>>,
) -> Result<Option<I>, AuthError>
where
    I: Serialize + DeserializeOwned + PartialEq,
{
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let mut value =
        serde_json::to_value(current).map_err(|e| AuthError::Internal(e.to_string()))?;
    merge_patch::apply(&mut value, patch);
    let input = normalized(from_value(value)?).map_err(AuthError::Validation)?;
    Ok((input != *current).then_some(input))
}

/// Hands out `permissions` (named in `field`): each registered by a module,
/// platform-only ones only in the platform tenant, none the caller lacks.
pub async fn check_grant(
    tx: &mut Tx,
    state: &AuthState,
    caller: &Caller,
    permissions: &BTreeSet<String>,
    field: &str,
) -> Result<(), AuthError> {
    let tenant = tx.tenant();
    let platform = repo::tenants::info(&mut **tx, tenant)
        .await?
        .is_some_and(|t| t.is_platform);
    perms::check_grant(&state.registry, caller, permissions, platform, field)
}

/// Assigns `roles`: each exists in the tenant, and grants nothing the caller lacks.
pub async fn check_roles(
    tx: &mut Tx,
    state: &AuthState,
    caller: &Caller,
    roles: &[String],
) -> Result<(), AuthError> {
    perms::check_roles_exist(tx, roles).await?;
    let granted = perms::of_roles(tx, &state.registry, roles).await?;
    check_grant(tx, state, caller, &granted, "roles").await
}
