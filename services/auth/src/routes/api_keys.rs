//! `/v1/api-keys`: keys for scripts and tools, shown once, revocable.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, NO_STORE, check_grant, fetched, listed, post, read};
use crate::crypto::secrets::{hash_secret, random_token};
use crate::domain::api_key::{ApiKey, NewApiKey, WithKey, format_key};
use crate::domain::audit::Entry;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{API_KEYS_READ, API_KEYS_WRITE, repo};

/// A new API key, shown once. 403 `forbidden` for a permission the caller
/// does not hold; 422 `platform_only` for one only the platform tenant may
/// hold, `in_past` for an `expires_at` that has passed.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    params(docs::IdempotencyKey),
    responses(
        (status = 201, body = WithKey, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Invalid,
    ),
    security(("bearer" = ["api_keys:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, API_KEYS_WRITE.name).await?;
    post(&state, tx, idem, body, async |tx, new: NewApiKey| {
        let new = new.normalized(Utc::now()).map_err(AuthError::Validation)?;
        let permissions: BTreeSet<String> = new.permissions.iter().cloned().collect();
        check_grant(tx, &state, &caller, &permissions, "permissions").await?;
        let id = Uuid::now_v7();
        let secret = random_token();
        let key = format_key(tx.tenant(), id, &secret);
        let permissions: Vec<String> = permissions.into_iter().collect();
        let hash = hash_secret(&secret);
        let api_key =
            repo::api_keys::insert(tx, id, &new, &hash, &permissions, &caller.subject).await?;
        let detail = json!({"name": api_key.name, "permissions": permissions});
        let entry = Entry::by(&caller, &ip, "api_key.created", id, detail);
        repo::audit::record(tx, &entry).await?;
        let version = api_key.version;
        let location = format!("/v1/api-keys/{id}");
        let body = WithKey { api_key, key };
        Ok(Stored::created(&location, &body, version)?.header(NO_STORE.0, NO_STORE.1))
    })
    .await
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(docs::Paging<ApiKey>),
    responses((status = 200, body = Page<ApiKey>), BadRequest, Denied),
    security(("bearer" = ["api_keys:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<ApiKey>>, AuthError> {
    let tx = Tx::begin(&state.store, &caller, API_KEYS_READ.name).await?;
    listed(tx, &params).await
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKey, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["api_keys:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, API_KEYS_READ.name).await?;
    fetched::<ApiKey>(tx, id).await
}

/// Revokes a key at once (kept for the record; revoking it again changes nothing).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 204), Denied, NotFound),
    security(("bearer" = ["api_keys:write"])))]
pub async fn revoke(
    State(state): State<AuthState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, API_KEYS_WRITE.name).await?;
    read(tx, async |tx| {
        match repo::api_keys::revoke(tx, id).await? {
            None => Err(AuthError::NotFound),
            Some(false) => Ok(()),
            Some(true) => {
                let entry = Entry::by(&caller, &ip, "api_key.revoked", id, json!({}));
                Ok(repo::audit::record(tx, &entry).await?)
            }
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
