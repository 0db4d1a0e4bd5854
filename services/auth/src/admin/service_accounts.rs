//! Service accounts: integrations (the Infexio sync) that sign in with OAuth2
//! client credentials. The secret is shown once and stored as a hash.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_http::pagination::Page;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, get_by_id, list_by_id, no_store, scoped, with_location};
use crate::audit;
use crate::error::AuthError;
use crate::secrets::{hash_secret, random_token};
use crate::state::AuthState;
use crate::{perms, tokens};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ServiceAccount {
    pub id: Uuid,
    pub name: String,
    pub client_id: String,
    pub permissions: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, client_id, permissions, status, version, created_at, updated_at";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the previous secret keeps working (default 24 h, at most 30 days).
    #[schema(minimum = 0, maximum = 2592000)]
    pub overlap_secs: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithSecret {
    #[serde(flatten)]
    pub account: ServiceAccount,
    /// Shown once; store it now.
    pub client_secret: String,
    /// When the previous secret stops working (rotation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/service-accounts", tag = "service-accounts", request_body = NewServiceAccount,
    responses((status = 201, body = WithSecret), (status = 403), (status = 422)), security(("bearer" = ["service_accounts:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewServiceAccount>,
) -> Result<Response, AuthError> {
    let (tenant, mut tx) = scoped(&state, &caller, "service_accounts:write").await?;
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    let set: BTreeSet<String> = body.permissions.iter().cloned().collect();
    let platform = tokens::tenant_info(&state.pool, tenant)
        .await?
        .is_some_and(|t| t.is_platform);
    perms::check_grant(&state.registry, &caller, &set, platform, "permissions")?;
    let id = Uuid::now_v7();
    let client_id = format!("sa.{}", tokens::tenant_token(tenant));
    let secret = random_token();
    let account: ServiceAccount = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into auth.service_accounts (id, name, client_id, permissions, status) values ($1, $2, $3, $4, 'active') returning {COLUMNS}"
    )))
    .bind(id)
    .bind(body.name.trim())
    .bind(&client_id)
    .bind(set.iter().collect::<Vec<_>>())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "insert into auth.client_secrets (id, service_account_id, secret_hash) values ($1, $2, $3)",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(hash_secret(&secret))
    .execute(&mut *tx)
    .await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "service_account.created",
        id.to_string(),
        json!({"client_id": client_id, "permissions": set}),
    )
    .await?;
    tx.commit().await?;
    let res = (
        StatusCode::CREATED,
        axum::Json(WithSecret {
            account,
            client_secret: secret,
            previous_secret_expires_at: None,
        }),
    )
        .into_response();
    let res = no_store(res);
    let res = with_location(res, &format!("/v1/service-accounts/{id}"));
    Ok(res)
}

#[utoipa::path(get, path = "/v1/service-accounts", tag = "service-accounts", params(ListParams),
    responses((status = 200, body = Page<ServiceAccount>)), security(("bearer" = ["service_accounts:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<ServiceAccount>>, AuthError> {
    list_by_id(
        &state,
        &caller,
        "service_accounts:read",
        COLUMNS,
        "auth.service_accounts",
        &q,
        |a: &ServiceAccount| a.id,
    )
    .await
    .map(axum::Json)
}

#[utoipa::path(get, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = ServiceAccount), (status = 404)), security(("bearer" = ["service_accounts:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<axum::Json<ServiceAccount>, AuthError> {
    get_by_id(
        &state,
        &caller,
        "service_accounts:read",
        COLUMNS,
        "auth.service_accounts",
        id,
    )
    .await
    .map(axum::Json)
}

/// A new secret; the previous ones keep working for the overlap, then stop.
#[utoipa::path(post, path = "/v1/service-accounts/{id}/rotate-secret", tag = "service-accounts", params(("id" = Uuid, Path)), request_body = Rotate,
    responses((status = 200, body = WithSecret), (status = 404)), security(("bearer" = ["service_accounts:write"])))]
pub async fn rotate(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    Json(body): Json<Rotate>,
) -> Result<Response, AuthError> {
    let overlap = body.overlap_secs.unwrap_or(86_400);
    if !(0..=30 * 86_400).contains(&overlap) {
        return Err(AuthError::invalid("overlap_secs", "0 to 2592000"));
    }
    let (_, mut tx) = scoped(&state, &caller, "service_accounts:write").await?;
    let account: ServiceAccount = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from auth.service_accounts where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuthError::NotFound)?;
    let until = Utc::now() + Duration::seconds(overlap);
    sqlx::query("update auth.client_secrets set expires_at = least(coalesce(expires_at, $2), $2) where service_account_id = $1")
        .bind(id)
        .bind(until)
        .execute(&mut *tx)
        .await?;
    let secret = random_token();
    sqlx::query(
        "insert into auth.client_secrets (id, service_account_id, secret_hash) values ($1, $2, $3)",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(hash_secret(&secret))
    .execute(&mut *tx)
    .await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "service_account.secret_rotated",
        id.to_string(),
        json!({"overlap_secs": overlap}),
    )
    .await?;
    tx.commit().await?;
    let res = axum::Json(WithSecret {
        account,
        client_secret: secret,
        previous_secret_expires_at: Some(until),
    })
    .into_response();
    let res = no_store(res);
    Ok(res)
}

#[utoipa::path(delete, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = ["service_accounts:write"])))]
pub async fn delete(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "service_accounts:write").await?;
    let n = sqlx::query("delete from auth.service_accounts where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AuthError::NotFound);
    }
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "service_account.deleted",
        id.to_string(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
