//! `/v1/service-accounts`: integrations that sign in with OAuth2 client
//! credentials. Their secrets are shown once, in the response that makes them.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, NO_STORE, check_grant, fetched, listed, post, read};
use crate::crypto::secrets::{hash_secret, random_token};
use crate::domain::audit::Entry;
use crate::domain::oauth::tenant_token;
use crate::domain::service_account::{NewServiceAccount, Rotate, ServiceAccount, WithSecret};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{SERVICE_ACCOUNTS_READ, SERVICE_ACCOUNTS_WRITE, repo};

/// A new service account with its client secret, shown once. 403
/// `forbidden` for a permission the caller does not hold; 422
/// `platform_only` for one only the platform tenant may hold.
#[utoipa::path(post, path = "/v1/service-accounts", tag = "service-accounts", request_body = NewServiceAccount,
    params(docs::IdempotencyKey),
    responses(
        (status = 201, body = WithSecret, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Invalid,
    ),
    security(("bearer" = ["service_accounts:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, SERVICE_ACCOUNTS_WRITE.name).await?;
    post(
        &state,
        tx,
        idem,
        body,
        async |tx, new: NewServiceAccount| {
            let new = new.normalized().map_err(AuthError::Validation)?;
            let permissions: BTreeSet<String> = new.permissions.into_iter().collect();
            check_grant(tx, &state, &caller, &permissions, "permissions").await?;
            let id = Uuid::now_v7();
            let client_id = format!("sa.{}", tenant_token(tx.tenant()));
            let permissions: Vec<String> = permissions.into_iter().collect();
            let account =
                repo::service_accounts::insert(tx, id, &new.name, &client_id, &permissions).await?;
            let secret = random_token();
            repo::service_accounts::add_secret(tx, id, &hash_secret(&secret)).await?;
            let detail = json!({"client_id": client_id, "permissions": permissions});
            let entry = Entry::by(&caller, &ip, "service_account.created", id, detail);
            repo::audit::record(tx, &entry).await?;
            let version = account.version;
            let body = WithSecret {
                account,
                client_secret: secret,
                previous_secret_expires_at: None,
            };
            let location = format!("/v1/service-accounts/{id}");
            Ok(Stored::created(&location, &body, version)?.header(NO_STORE.0, NO_STORE.1))
        },
    )
    .await
}

#[utoipa::path(get, path = "/v1/service-accounts", tag = "service-accounts", params(docs::Paging<ServiceAccount>),
    responses((status = 200, body = Page<ServiceAccount>), BadRequest, Denied),
    security(("bearer" = ["service_accounts:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<ServiceAccount>>, AuthError> {
    let tx = Tx::begin(&state.store, &caller, SERVICE_ACCOUNTS_READ.name).await?;
    listed(tx, &params).await
}

#[utoipa::path(get, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ServiceAccount, headers(("ETag" = String))),
        Denied, NotFound,
    ),
    security(("bearer" = ["service_accounts:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, SERVICE_ACCOUNTS_READ.name).await?;
    fetched::<ServiceAccount>(tx, id).await
}

/// A new secret; the previous ones keep working for the overlap, then stop.
#[utoipa::path(post, path = "/v1/service-accounts/{id}/rotate-secret", tag = "service-accounts",
    params(("id" = Uuid, Path),
        docs::IdempotencyKey),
    request_body = Rotate,
    responses((status = 200, body = WithSecret), BadRequest, Denied, docs::BodyRefused, NotFound,
        Invalid),
    security(("bearer" = ["service_accounts:write"])))]
pub async fn rotate(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, SERVICE_ACCOUNTS_WRITE.name).await?;
    post(&state, tx, idem, body, async |tx, rotate: Rotate| {
        let overlap = rotate.overlap_secs().map_err(AuthError::Validation)?;
        let account = repo::service_accounts::lock(tx, id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let until = Utc::now() + Duration::seconds(overlap);
        repo::service_accounts::expire_secrets(tx, id, until).await?;
        let secret = random_token();
        repo::service_accounts::add_secret(tx, id, &hash_secret(&secret)).await?;
        let detail = json!({"overlap_secs": overlap});
        let entry = Entry::by(&caller, &ip, "service_account.secret_rotated", id, detail);
        repo::audit::record(tx, &entry).await?;
        let body = WithSecret {
            account,
            client_secret: secret,
            previous_secret_expires_at: Some(until),
        };
        Ok(Stored::new(StatusCode::OK, &body)?.header(NO_STORE.0, NO_STORE.1))
    })
    .await
}

#[utoipa::path(delete, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses((status = 204), Denied, NotFound),
    security(("bearer" = ["service_accounts:write"])))]
pub async fn delete(
    State(state): State<AuthState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, SERVICE_ACCOUNTS_WRITE.name).await?;
    read(tx, async |tx| {
        if !repo::service_accounts::delete(tx, id).await? {
            return Err(AuthError::NotFound);
        }
        let entry = Entry::by(&caller, &ip, "service_account.deleted", id, json!({}));
        Ok(repo::audit::record(tx, &entry).await?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
