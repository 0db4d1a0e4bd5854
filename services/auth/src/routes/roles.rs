//! `/v1/roles`: the built-in roles and a tenant's own. Nobody puts into a
//! role a permission they do not hold.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_authn::permissions::BUILTIN_ROLES;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, Query, from_value};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, check_grant, committed, merged, post, read};
use crate::domain::audit::Entry;
use crate::domain::role::{CustomRole, Role, RoleInput};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{ROLES_READ, ROLES_WRITE, repo};

psa_kernel::merge_patch!(pub RolePatch = RoleInput);

/// Built-in and custom roles together, by name.
#[utoipa::path(get, path = "/v1/roles", tag = "roles", params(docs::Paging<Role>),
    responses((status = 200, body = Page<Role>), BadRequest, Denied),
    security(("bearer" = ["roles:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Role>>, AuthError> {
    let keyset = params.keyset(repo::roles::SORTS, repo::roles::NAME)?;
    let builtin: Vec<(&str, Vec<&str>)> = BUILTIN_ROLES
        .iter()
        .map(|name| (*name, state.registry.builtin_role(name).unwrap_or_default()))
        .collect();
    let tx = Tx::begin(&state.store, &caller, ROLES_READ.name).await?;
    let page = read(tx, async |tx| {
        Ok(repo::roles::page(tx, &builtin, &keyset).await?)
    })
    .await?;
    Ok(axum::Json(page))
}

/// Refuses a role named like a built-in one, or one with permissions the
/// caller may not hand out.
async fn check(
    tx: &mut Tx,
    state: &AuthState,
    caller: &Caller,
    input: &RoleInput,
) -> Result<(), AuthError> {
    if BUILTIN_ROLES.contains(&input.name.as_str()) {
        return Err(AuthError::BuiltinRole(input.name.clone()));
    }
    let permissions: BTreeSet<String> = input.permissions.iter().cloned().collect();
    check_grant(tx, state, caller, &permissions, "permissions").await
}

/// A new role; 409 `role_name_taken` or `builtin_role` for its name, 403
/// `forbidden` for a permission the caller does not hold, 422
/// `platform_only` for one only the platform tenant may hold.
#[utoipa::path(post, path = "/v1/roles", tag = "roles", request_body = RoleInput,
    params(docs::IdempotencyKey),
    responses(
        (status = 201, body = Role, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["roles:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, ROLES_WRITE.name).await?;
    post(&state, tx, idem, body, async |tx, input: RoleInput| {
        let input = input.normalized().map_err(AuthError::Validation)?;
        check(tx, &state, &caller, &input).await?;
        let id = Uuid::now_v7();
        let role = repo::roles::save(tx, id, &input).await?;
        let detail = json!({"permissions": role.permissions});
        let entry = Entry::by(&caller, &ip, "role.created", &role.name, detail);
        repo::audit::record(tx, &entry).await?;
        let version = role.version;
        let location = format!("/v1/roles/{id}");
        Ok(Stored::created(&location, &Role::from(role), version)?)
    })
    .await
}

/// Replaces a role's name, description and permissions; 409 as on create.
#[utoipa::path(put, path = "/v1/roles/{id}", tag = "roles", request_body = RoleInput,
    params(("id" = Uuid, Path), docs::IfMatch),
    responses(
        (status = 200, body = Role, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["roles:write"])))]
pub async fn replace(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, ROLES_WRITE.name).await?;
    let current = repo::roles::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    check_if_match(precondition.as_ref(), current.version)?;
    let input: RoleInput = from_value(body)?;
    let input = input.normalized().map_err(AuthError::Validation)?;
    let change = (input != RoleInput::from(&current)).then_some(input);
    save(tx, &state, &caller, &ip, current, change).await
}

/// Changes a role; `"description": null` clears the description. 409 as
/// on create.
#[utoipa::path(patch, path = "/v1/roles/{id}", tag = "roles",
    request_body(content = RolePatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), docs::IfMatch),
    responses(
        (status = 200, body = Role, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["roles:write"])))]
pub async fn patch(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, ROLES_WRITE.name).await?;
    let current = repo::roles::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    let before = RoleInput::from(&current);
    let change = merged(
        &headers,
        current.version,
        &before,
        &patch,
        RoleInput::normalized,
    )?;
    save(tx, &state, &caller, &ip, current, change).await
}

/// Writes a role's new input (None: nothing changes, no new version and
/// no audit event). Users keep a renamed role under its new name.
async fn save(
    mut tx: Tx,
    state: &AuthState,
    caller: &Caller,
    ip: &Option<String>,
    current: CustomRole,
    change: Option<RoleInput>,
) -> Result<Response, AuthError> {
    let Some(input) = change else {
        let version = current.version;
        return committed(tx, &Role::from(current), version).await;
    };
    check(&mut tx, state, caller, &input).await?;
    let role = repo::roles::save(&mut tx, current.id, &input).await?;
    if role.name != current.name {
        repo::users::rename_role(&mut tx, &current.name, &role.name).await?;
    }
    let detail = json!({"from": current.permissions, "to": role.permissions});
    let entry = Entry::by(caller, ip, "role.changed", &role.name, detail);
    repo::audit::record(&mut tx, &entry).await?;
    let version = role.version;
    committed(tx, &Role::from(role), version).await
}

/// Deletes a role; 409 `role_in_use` while users have it.
#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "roles",
    params(("id" = Uuid, Path), docs::IfMatch),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["roles:write"])))]
pub async fn delete(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let precondition = IfMatch::from_headers(&headers)?;
    let tx = Tx::begin(&state.store, &caller, ROLES_WRITE.name).await?;
    read(tx, async |tx| {
        let role = repo::roles::lock(tx, id)
            .await?
            .ok_or(AuthError::NotFound)?;
        check_if_match(precondition.as_ref(), role.version)?;
        let users = repo::users::count_with_role(tx, &role.name).await?;
        if users > 0 {
            return Err(AuthError::RoleInUse(users));
        }
        repo::roles::delete(tx, id).await?;
        let entry = Entry::by(&caller, &ip, "role.deleted", &role.name, json!({}));
        Ok(repo::audit::record(tx, &entry).await?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
