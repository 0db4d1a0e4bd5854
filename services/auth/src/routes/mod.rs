//! Auth's HTTP endpoints, one file per resource: the admin API under `/v1`
//! (documented in OpenAPI) and the OIDC/OAuth endpoints (standard paths,
//! described by discovery).
//!
//! A handler opens its transaction with the one kernel call that fits the
//! caller ([`Tx::begin`] with its permission; [`as_user`] for what users do
//! to themselves; the operator's check for tenants) and hands it to
//! [`post`], [`read`], [`fetched`] or [`listed`], which do the rest the same
//! way everywhere.

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
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, etag};
use psa_http::{FieldError, Problem, merge_patch};
use psa_kernel::{Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::AuthError;
use crate::repo::{Fetched, Listed};
use crate::state::AuthState;
use crate::{perms, repo};

/// The sorts each list documents are the ones it takes.
macro_rules! sorts {
    ($($ty:ty => $sorts:expr),* $(,)?) => {
        $(impl psa_kernel::docs::Sorts for $ty {
            const SORTS: &'static [SortField] = $sorts;
        })*
    };
}
sorts!(
    crate::domain::api_key::ApiKey => <crate::domain::api_key::ApiKey as Listed>::SORTS,
    crate::domain::audit::AuditEvent => <crate::domain::audit::AuditEvent as Listed>::SORTS,
    crate::domain::service_account::ServiceAccount =>
        <crate::domain::service_account::ServiceAccount as Listed>::SORTS,
    crate::domain::tenant::Tenant => <crate::domain::tenant::Tenant as Listed>::SORTS,
    crate::domain::role::Role => repo::roles::SORTS,
    crate::domain::user::User => repo::users::SORTS,
);

/// The rest of a POST once its transaction is open ([`psa_kernel::post`]),
/// its responses stored sealed ([`AuthState::sealer`]): some show a secret once.
pub async fn post<B: DeserializeOwned>(
    state: &AuthState,
    tx: Tx,
    idem: Idempotency,
    body: Value,
    work: impl AsyncFnOnce(&mut Tx, B) -> Result<Stored, AuthError>,
) -> Result<Response, AuthError> {
    psa_kernel::post(tx, &idem.sealed(state.sealer()), body, work).await
}

/// One record by id with its `ETag`, read in `tx`.
pub async fn fetched<R: Fetched>(tx: Tx, id: Uuid) -> Result<Response, AuthError> {
    let row = read(tx, async |tx| {
        R::get(tx, id).await?.ok_or(AuthError::NotFound)
    })
    .await?;
    Ok(with_etag(StatusCode::OK, &row, row.version()))
}

/// One page of records, read in `tx`.
pub async fn listed<R: Listed>(
    tx: Tx,
    params: &PageParams,
) -> Result<axum::Json<Page<R>>, AuthError> {
    let keyset = params.keyset(R::SORTS, SortField::CREATED_AT)?;
    let page = read(tx, async |tx| Ok(R::page(tx, &keyset).await?)).await?;
    Ok(axum::Json(page))
}

/// A read in an open transaction ([`psa_kernel::read`]) with auth's errors.
pub async fn read<T>(
    tx: Tx,
    work: impl AsyncFnOnce(&mut Tx) -> Result<T, AuthError>,
) -> Result<T, AuthError> {
    psa_kernel::read(tx, work).await
}

/// For what users do to themselves (no permission needed): the calling
/// user's id and a transaction in their tenant. Tokens of service accounts
/// and API keys name no user.
pub async fn as_user(state: &AuthState, caller: &Caller) -> Result<(Uuid, Tx), AuthError> {
    let id = Uuid::parse_str(&caller.subject).map_err(|_| AuthError::UsersOnly)?;
    Ok((id, Tx::for_tenant(&state.store, caller.tenant()?).await?))
}

/// A merge patch (RFC 7396) of a locked resource's input `current`, whose
/// version is `version`: 412 on a stale `If-Match`; the result parsed and
/// normalized again as a whole; None when it is `current` (nothing changes).
pub fn merged<I>(
    headers: &HeaderMap,
    version: i64,
    current: &I,
    patch: &Value,
    normalized: impl FnOnce(I) -> Result<I, Vec<FieldError>>,
) -> Result<Option<I>, AuthError>
where
    I: Serialize + DeserializeOwned + PartialEq,
{
    psa_http::conditional::check_if_match(IfMatch::from_headers(headers)?.as_ref(), version)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let value = serde_json::to_value(current).map_err(|e| AuthError::Internal(e.to_string()))?;
    let input = normalized(merge_patch::merged(&value, patch)?).map_err(AuthError::Validation)?;
    Ok((input != *current).then_some(input))
}

/// The answer to a write that changes nothing: the resource as it is, no
/// new version.
pub async fn committed<T: Serialize>(
    tx: Tx,
    body: &T,
    version: i64,
) -> Result<Response, AuthError> {
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, body, version))
}

/// The `Cache-Control` of a response that shows a secret (a replay's
/// included: it is part of the stored response).
pub const NO_STORE: (&str, &str) = ("cache-control", "no-store");

/// `status` with the resource and its `ETag`, as an idempotency record stores it.
pub fn stored_with_etag<T: Serialize>(
    status: StatusCode,
    body: &T,
    version: i64,
) -> Result<Stored, Problem> {
    let etag = etag(version);
    Ok(Stored::new(status, body)?.header("etag", etag.to_str().unwrap_or_default()))
}

/// An empty 204, as an idempotency record stores it.
pub fn no_content() -> Result<Stored, Problem> {
    Stored::new(StatusCode::NO_CONTENT, &Value::Null)
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
