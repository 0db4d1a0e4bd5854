//! Roles: the built-in ones and a tenant's own.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_authn::permissions::BUILTIN_ROLES;
use psa_http::extract::{Json, PathId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::scoped;
use crate::audit;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{perms, tokens};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Role {
    /// None for built-in roles.
    pub id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub builtin: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub name: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

type RoleRow = (Uuid, String, Option<String>, Vec<String>);

fn custom(r: RoleRow) -> Role {
    Role {
        id: Some(r.0),
        name: r.1,
        description: r.2,
        permissions: r.3,
        builtin: false,
    }
}

#[utoipa::path(get, path = "/v1/roles", tag = "roles", responses((status = 200, body = Vec<Role>)), security(("bearer" = ["roles:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "roles:read").await?;
    let mut roles: Vec<Role> = BUILTIN_ROLES
        .iter()
        .map(|name| Role {
            id: None,
            name: (*name).to_owned(),
            description: None,
            permissions: state
                .registry
                .builtin_role(name)
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            builtin: true,
        })
        .collect();
    let rows: Vec<RoleRow> =
        sqlx::query_as("select id, name, description, permissions from auth.roles order by name")
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    roles.extend(rows.into_iter().map(custom));
    Ok(axum::Json(json!({ "data": roles, "next_cursor": null })))
}

async fn validate(state: &AuthState, caller: &Caller, input: &RoleInput) -> Result<(), AuthError> {
    let name = input.name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AuthError::invalid(
            "name",
            "1-64 characters of A-Z, a-z, 0-9, _ and -",
        ));
    }
    if input
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        return Err(AuthError::invalid("description", "at most 1000 characters"));
    }
    if BUILTIN_ROLES.contains(&name) {
        return Err(AuthError::Conflict(format!("{name} is a built-in role")));
    }
    let platform = tokens::tenant_info(&state.pool, caller.tenant()?)
        .await?
        .is_some_and(|t| t.is_platform);
    let set: BTreeSet<String> = input.permissions.iter().cloned().collect();
    perms::check_grant(&state.registry, caller, &set, platform, "permissions")
}

#[utoipa::path(post, path = "/v1/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = Role), (status = 403), (status = 409)), security(("bearer" = ["roles:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(input): Json<RoleInput>,
) -> Result<Response, AuthError> {
    validate(&state, &caller, &input).await?;
    let (_, mut tx) = scoped(&state, &caller, "roles:write").await?;
    let row: RoleRow = sqlx::query_as(
        "insert into auth.roles (id, name, description, permissions) values ($1, $2, $3, $4)
         on conflict (tenant_id, name) do nothing returning id, name, description, permissions",
    )
    .bind(Uuid::now_v7())
    .bind(input.name.trim())
    .bind(&input.description)
    .bind(&input.permissions)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AuthError::Conflict("a role with this name exists".into()))?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "role.created",
        row.1.clone(),
        json!({"permissions": row.3}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(custom(row))).into_response())
}

#[utoipa::path(put, path = "/v1/roles/{id}", tag = "roles", params(("id" = Uuid, Path)), request_body = RoleInput,
    responses((status = 200, body = Role), (status = 403), (status = 404)), security(("bearer" = ["roles:write"])))]
pub async fn replace(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    Json(input): Json<RoleInput>,
) -> Result<Response, AuthError> {
    validate(&state, &caller, &input).await?;
    let (_, mut tx) = scoped(&state, &caller, "roles:write").await?;
    let old: Option<(String, Vec<String>)> =
        sqlx::query_as("select name, permissions from auth.roles where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (old_name, old_perms) = old.ok_or(AuthError::NotFound)?;
    let row: RoleRow = sqlx::query_as(
        "update auth.roles set name = $2, description = $3, permissions = $4, version = version + 1, updated_at = now()
         where id = $1 returning id, name, description, permissions",
    )
    .bind(id)
    .bind(input.name.trim())
    .bind(&input.description)
    .bind(&input.permissions)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| if psa_db::constraint(&e) == Some("roles_name_unique") { AuthError::Conflict("a role with this name exists".into()) } else { e.into() })?;
    if old_name != row.1 {
        // Users keep the role under its new name.
        sqlx::query(
            "update auth.users set roles = array_replace(roles, $1, $2) where $1 = any(roles)",
        )
        .bind(&old_name)
        .bind(&row.1)
        .execute(&mut *tx)
        .await?;
    }
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "role.changed",
        row.1.clone(),
        json!({"from": old_perms, "to": row.3}),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(custom(row)).into_response())
}

#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "roles", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "still assigned")), security(("bearer" = ["roles:write"])))]
pub async fn delete(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "roles:write").await?;
    let name: String = sqlx::query_scalar("select name from auth.roles where id = $1 for update")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::NotFound)?;
    let users: i64 = sqlx::query_scalar("select count(*) from auth.users where $1 = any(roles)")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    if users > 0 {
        return Err(AuthError::Conflict(format!(
            "{users} user(s) still have this role"
        )));
    }
    sqlx::query("delete from auth.roles where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::by_caller(&mut tx, &caller, &headers, "role.deleted", name, json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
