//! `/v1/api-keys`: keys for scripts and tools, shown once, revocable.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query, from_value};
use psa_http::problem::ProblemBody;
use psa_kernel::{Guarded, Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, NO_STORE, check_grant};
use crate::crypto::secrets::{hash_secret, random_token};
use crate::domain::api_key::{ApiKey, NewApiKey, WithKey, format_key};
use crate::domain::audit::Entry;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{API_KEYS_READ, API_KEYS_WRITE, repo};

#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response (the key is stored encrypted for the replay)")),
    responses(
        (status = 201, body = WithKey, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["api_keys:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, API_KEYS_WRITE.name).await?;
    let guard = match idem.sealed(state.sealer()).guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let new = from_value::<NewApiKey>(body)?
        .normalized(Utc::now())
        .map_err(AuthError::Validation)?;
    let permissions: BTreeSet<String> = new.permissions.iter().cloned().collect();
    check_grant(&mut tx, &state, &caller, &permissions, "permissions").await?;
    let id = Uuid::now_v7();
    let secret = random_token();
    let key = format_key(tx.tenant(), id, &secret);
    let permissions: Vec<String> = permissions.into_iter().collect();
    let hash = hash_secret(&secret);
    let api_key =
        repo::api_keys::insert(&mut tx, id, &new, &hash, &permissions, &caller.subject).await?;
    let detail = json!({"name": api_key.name, "permissions": permissions});
    let entry = Entry::by(&caller, &ip, "api_key.created", id, detail);
    repo::audit::record(&mut tx, &entry).await?;
    let version = api_key.version;
    let location = format!("/v1/api-keys/{id}");
    let body = WithKey { api_key, key };
    let stored = Stored::created(&location, &body, version)?.header(NO_STORE.0, NO_STORE.1);
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageParams),
    responses(
        (status = 200, body = Page<ApiKey>),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["api_keys:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<ApiKey>>, AuthError> {
    let keyset = params.keyset(repo::api_keys::SORTS, SortField::CREATED_AT)?;
    let mut tx = Tx::begin(&state.store, &caller, API_KEYS_READ.name).await?;
    let page = repo::api_keys::page(&mut tx, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ApiKey, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["api_keys:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, API_KEYS_READ.name).await?;
    let key = repo::api_keys::get(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &key, key.version))
}

/// Revokes a key at once (kept for the record; revoking it again changes nothing).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["api_keys:write"])))]
pub async fn revoke(
    State(state): State<AuthState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, API_KEYS_WRITE.name).await?;
    match repo::api_keys::revoke(&mut tx, id).await? {
        None => return Err(AuthError::NotFound),
        Some(false) => {}
        Some(true) => {
            let entry = Entry::by(&caller, &ip, "api_key.revoked", id, json!({}));
            repo::audit::record(&mut tx, &entry).await?;
        }
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
