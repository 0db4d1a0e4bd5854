//! Tenants: platform operators create, list and suspend them; a tenant's
//! admins read theirs and set its MFA requirement.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_http::pagination::Page;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, etagged, page, with_location};
use crate::audit;
use crate::error::AuthError;
use crate::state::AuthState;

const ADMIN: &str = "tenants:admin";

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    /// The company ID staff type at sign-in.
    pub slug: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub is_platform: bool,
    pub mfa_required: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Optional fixed id (imports); generated otherwise.
    pub id: Option<Uuid>,
    /// The company ID staff type when they sign in.
    #[schema(min_length = 2, max_length = 63, pattern = "^[a-z0-9][a-z0-9-]*$")]
    pub slug: String,
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    pub mfa_required: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    pub mfa_required: Option<bool>,
}

fn valid_slug(s: &str) -> bool {
    (2..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Tenant, AuthError> {
    sqlx::query_as("select * from auth.tenants where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(AuthError::NotFound)
}

/// Only the operator's tenant may manage tenants, whatever its token says.
async fn require_platform(state: &AuthState, caller: &Caller) -> Result<(), AuthError> {
    caller.require(ADMIN)?;
    let info = crate::tokens::tenant_info(&state.pool, caller.tenant()?).await?;
    if info.is_some_and(|t| t.is_platform && t.active) {
        Ok(())
    } else {
        Err(AuthError::Forbidden(
            "only platform operators manage tenants".into(),
        ))
    }
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    responses((status = 201, body = Tenant), (status = 409, description = "slug taken")), security(("bearer" = ["tenants:admin"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewTenant>,
) -> Result<Response, AuthError> {
    require_platform(&state, &caller).await?;
    if !valid_slug(&body.slug) {
        return Err(AuthError::invalid(
            "slug",
            "2-63 characters of a-z, 0-9 and -",
        ));
    }
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let mut conn = state.pool.acquire().await?;
    let created: Tenant = sqlx::query_as(
        "insert into auth.tenants (id, slug, name, status, mfa_required) values ($1, $2, $3, 'active', $4)
         on conflict do nothing returning *",
    )
    .bind(id)
    .bind(&body.slug)
    .bind(body.name.trim())
    .bind(body.mfa_required)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AuthError::Conflict("a tenant with this id or slug exists".into()))?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "tenant.created",
        id.to_string(),
        serde_json::json!({"slug": body.slug}),
    )
    .await?;
    tx.commit().await?;
    let res = etagged(StatusCode::CREATED, &created, created.version);
    let res = with_location(res, &format!("/v1/tenants/{id}"));
    Ok(res)
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(ListParams),
    responses((status = 200, body = Page<Tenant>)), security(("bearer" = ["tenants:admin"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<Tenant>>, AuthError> {
    require_platform(&state, &caller).await?;
    let (limit, after) = q.parse()?;
    let rows: Vec<Tenant> = sqlx::query_as(
        "select * from auth.tenants where ($1::uuid is null or id > $1) order by id limit $2",
    )
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    Ok(axum::Json(page(rows, limit, |t| t.id)))
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants", params(("id" = Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404)), security(("bearer" = ["tenants:admin"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    require_platform(&state, &caller).await?;
    let t = fetch(&mut *state.pool.acquire().await?, id).await?;
    Ok(etagged(StatusCode::OK, &t, t.version))
}

async fn set_status(
    state: &AuthState,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
    status: &str,
) -> Result<Response, AuthError> {
    require_platform(state, caller).await?;
    if Some(id) == caller.tenant_id {
        return Err(AuthError::Conflict(
            "the operator's own tenant cannot be suspended".into(),
        ));
    }
    let t: Tenant = sqlx::query_as(
        "update auth.tenants set status = $2, version = version + (status <> $2)::int,
         updated_at = case when status <> $2 then now() else updated_at end where id = $1 returning *",
    )
    .bind(id)
    .bind(status)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AuthError::NotFound)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    audit::by_caller(
        &mut tx,
        caller,
        headers,
        &format!("tenant.{status}"),
        id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(etagged(StatusCode::OK, &t, t.version))
}

/// Suspends a tenant: no new tokens or refreshes; issued access tokens lapse within their lifetime.
#[utoipa::path(post, path = "/v1/tenants/{id}/suspend", tag = "tenants", params(("id" = Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404)), security(("bearer" = ["tenants:admin"])))]
pub async fn suspend(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    set_status(&state, &caller, &headers, id, "suspended").await
}

#[utoipa::path(post, path = "/v1/tenants/{id}/reactivate", tag = "tenants", params(("id" = Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404)), security(("bearer" = ["tenants:admin"])))]
pub async fn reactivate(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    set_status(&state, &caller, &headers, id, "active").await
}

/// The caller's own tenant.
#[utoipa::path(get, path = "/v1/tenants/current", tag = "tenants",
    responses((status = 200, body = Tenant)), security(("bearer" = [])))]
pub async fn current(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, AuthError> {
    let t = fetch(&mut *state.pool.acquire().await?, caller.tenant()?).await?;
    Ok(etagged(StatusCode::OK, &t, t.version))
}

/// Tenant admins set their tenant's name and whether MFA is required.
#[utoipa::path(patch, path = "/v1/tenants/current", tag = "tenants", request_body = TenantPatch,
    responses((status = 200, body = Tenant)), security(("bearer" = ["users:write"])))]
pub async fn patch_current(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<TenantPatch>,
) -> Result<Response, AuthError> {
    caller.require("users:write")?;
    let tenant = caller.tenant()?;
    if body
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.len() > 200)
    {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    let t: Tenant = sqlx::query_as(
        "update auth.tenants set name = coalesce($2, name), mfa_required = coalesce($3, mfa_required),
         version = version + 1, updated_at = now() where id = $1 returning *",
    )
    .bind(tenant)
    .bind(body.name.as_deref().map(str::trim))
    .bind(body.mfa_required)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AuthError::NotFound)?;
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "tenant.settings_changed",
        tenant.to_string(),
        serde_json::json!({"mfa_required": t.mfa_required}),
    )
    .await?;
    tx.commit().await?;
    Ok(etagged(StatusCode::OK, &t, t.version).into_response())
}
