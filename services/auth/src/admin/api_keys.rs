//! API keys: `psa_…`, shown once, stored as an argon2 hash, scoped to no more
//! than their creator holds, optionally expiring, revocable, each with its
//! own rate limit. The gateway exchanges a key for a short-lived token at
//! `/oauth/token` (token exchange) and caches the answer briefly.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
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
use crate::secrets::{hash_secret, random_token, verify_secret};
use crate::state::AuthState;
use crate::{perms, tokens};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_by: String,
    pub rate_limit_per_minute: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, permissions, created_by, rate_limit_per_minute, expires_at, revoked_at, last_used_at, created_at";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute for this key at the gateway; the platform default when absent.
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate_limit_per_minute: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// `psa_…`, shown once.
    pub key: String,
}

/// What a key stands for.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub tenant: Uuid,
    pub id: Uuid,
    pub permissions: BTreeSet<String>,
    pub rate_limit_per_minute: Option<i32>,
}

/// `psa_<tenant hex>_<key id hex>_<secret>`: the ids scope the lookup, the secret is verified.
fn parse(key: &str) -> Option<(Uuid, Uuid, &str)> {
    let rest = key.strip_prefix("psa_")?;
    let mut parts = rest.splitn(3, '_');
    let tenant = Uuid::try_parse(parts.next().filter(|p| p.len() == 32)?).ok()?;
    let id = Uuid::try_parse(parts.next().filter(|p| p.len() == 32)?).ok()?;
    let secret = parts.next().filter(|s| s.len() >= 32)?;
    Some((tenant, id, secret))
}

pub async fn resolve(state: &AuthState, key: &str) -> Result<Option<Resolved>, AuthError> {
    let Some((tenant, id, secret)) = parse(key) else {
        return Ok(None);
    };
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    let row: Option<(String, Vec<String>, Option<i32>)> = sqlx::query_as(
        "select key_hash, permissions, rate_limit_per_minute from auth.api_keys
         where id = $1 and revoked_at is null and (expires_at is null or expires_at > now())",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((_, permissions, limit)) = row.filter(|(h, _, _)| verify_secret(secret, h)) else {
        return Ok(None);
    };
    sqlx::query("update auth.api_keys set last_used_at = now() where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Resolved {
        tenant,
        id,
        permissions: permissions.into_iter().collect(),
        rate_limit_per_minute: limit,
    }))
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = WithKey), (status = 403), (status = 422)), security(("bearer" = ["api_keys:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewApiKey>,
) -> Result<Response, AuthError> {
    let (tenant, mut tx) = scoped(&state, &caller, "api_keys:write").await?;
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(AuthError::invalid("expires_at", "must be in the future"));
    }
    if body
        .rate_limit_per_minute
        .is_some_and(|l| !(1..=1_000_000).contains(&l))
    {
        return Err(AuthError::invalid("rate_limit_per_minute", "1 to 1000000"));
    }
    let set: BTreeSet<String> = body.permissions.iter().cloned().collect();
    let platform = tokens::tenant_info(&state.pool, tenant)
        .await?
        .is_some_and(|t| t.is_platform);
    perms::check_grant(&state.registry, &caller, &set, platform, "permissions")?;
    let id = Uuid::now_v7();
    let secret = random_token();
    let key = format!("psa_{}_{}_{secret}", tenant.simple(), id.simple());
    let api_key: ApiKey = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into auth.api_keys (id, name, key_hash, permissions, created_by, rate_limit_per_minute, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}"
    )))
    .bind(id)
    .bind(body.name.trim())
    .bind(hash_secret(&secret))
    .bind(set.iter().collect::<Vec<_>>())
    .bind(&caller.subject)
    .bind(body.rate_limit_per_minute)
    .bind(body.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "api_key.created",
        id.to_string(),
        json!({"name": api_key.name, "permissions": set}),
    )
    .await?;
    tx.commit().await?;
    let res = (StatusCode::CREATED, axum::Json(WithKey { api_key, key })).into_response();
    let res = no_store(res);
    let res = with_location(res, &format!("/v1/api-keys/{id}"));
    Ok(res)
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(ListParams),
    responses((status = 200, body = Page<ApiKey>)), security(("bearer" = ["api_keys:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<ApiKey>>, AuthError> {
    list_by_id(
        &state,
        &caller,
        "api_keys:read",
        COLUMNS,
        "auth.api_keys",
        &q,
        |k: &ApiKey| k.id,
    )
    .await
    .map(axum::Json)
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKey), (status = 404)), security(("bearer" = ["api_keys:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<axum::Json<ApiKey>, AuthError> {
    get_by_id(
        &state,
        &caller,
        "api_keys:read",
        COLUMNS,
        "auth.api_keys",
        id,
    )
    .await
    .map(axum::Json)
}

/// Revokes a key at once (kept for the record).
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = ["api_keys:write"])))]
pub async fn revoke(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "api_keys:write").await?;
    let n = sqlx::query("update auth.api_keys set revoked_at = coalesce(revoked_at, now()), updated_at = now(), version = version + 1 where id = $1")
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
        "api_key.revoked",
        id.to_string(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format() {
        let (t, i) = (Uuid::now_v7(), Uuid::now_v7());
        let key = format!("psa_{}_{}_{}", t.simple(), i.simple(), random_token());
        let (pt, pi, _) = parse(&key).unwrap();
        assert_eq!((pt, pi), (t, i));
        assert!(parse("psa_short").is_none());
        assert!(parse(&format!("psa_{}_{}_x", t.simple(), i.simple())).is_none());
    }
}
