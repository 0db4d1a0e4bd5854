//! `/v1/users`: staff of a tenant, their roles and passwords.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::FieldError;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_http::validate::FieldErrors;
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, PageParams, SortField, Stored, Tx};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ClientIp, as_user, check_roles, committed, fetched, merged, no_content, post, read};
use crate::crypto::secrets::{hash_secret, verify_secret};
use crate::domain::audit::Entry;
use crate::domain::user::{
    ChangePassword, NewUser, SetPassword, User, UserInput, UserStatus, check_password,
};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{USERS_READ, USERS_WRITE, repo};

psa_kernel::merge_patch!(pub UserPatch = UserInput);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

/// A new user of the caller's tenant; 409 `email_taken` when the address
/// is in use, `tenant_not_registered` when the token's tenant is unknown;
/// 422 `not_found` for a role the tenant does not have, 403 `forbidden`
/// for a role granting what the caller does not hold.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    params(docs::IdempotencyKey),
    responses(
        (status = 201, body = User, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["users:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    post(&state, tx, idem, body, async |tx, user: NewUser| {
        let user = user.normalized().map_err(AuthError::Validation)?;
        // Users belong to a tenant the platform knows (a token may name any id).
        let tenant = tx.tenant();
        if repo::tenants::info(&mut **tx, tenant).await?.is_none() {
            return Err(AuthError::TenantNotRegistered);
        }
        check_roles(tx, &state, &caller, &user.roles).await?;
        let id = Uuid::now_v7();
        let hash = user.password.as_deref().map(hash_secret);
        let created = repo::users::insert(tx, id, &user, hash).await?;
        tx.emit(&crate::events::USER_CREATED, id, &created).await?;
        let detail = json!({"roles": created.roles});
        repo::audit::record(tx, &Entry::by(&caller, &ip, "user.created", id, detail)).await?;
        let location = format!("/v1/users/{id}");
        Ok(Stored::created(&location, &created, created.version)?)
    })
    .await
}

#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserFilter, docs::Paging<User>),
    responses((status = 200, body = Page<User>), BadRequest, Denied),
    security(("bearer" = ["users:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<UserFilter>,
) -> Result<axum::Json<Page<User>>, AuthError> {
    let keyset = q.page.keyset(repo::users::SORTS, SortField::CREATED_AT)?;
    let tx = Tx::begin(&state.store, &caller, USERS_READ.name).await?;
    let page = read(tx, async |tx| {
        Ok(repo::users::page(tx, q.status, &keyset).await?)
    })
    .await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = User, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["users:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, USERS_READ.name).await?;
    fetched::<User>(tx, id).await
}

/// Renames, suspends or reactivates a user, or sets their roles. A patch
/// that changes nothing makes no new version and no audit event.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users",
    request_body(content = UserPatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), docs::IfMatch),
    responses(
        (status = 200, body = User, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Stale, Invalid,
    ),
    security(("bearer" = ["users:write"])))]
pub async fn patch(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let current = repo::users::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    let before = UserInput::from(&current);
    let Some(input) = merged(
        &headers,
        current.version,
        &before,
        &patch,
        UserInput::normalized,
    )?
    else {
        return committed(tx, &current, current.version).await;
    };
    if input.roles != before.roles {
        check_roles(&mut tx, &state, &caller, &input.roles).await?;
    }
    let updated = repo::users::update(&mut tx, id, &input).await?;
    tx.emit(&crate::events::USER_UPDATED, id, &updated).await?;
    if updated.roles != current.roles {
        let detail = json!({"from": current.roles, "to": updated.roles});
        let entry = Entry::by(&caller, &ip, "user.roles_changed", id, detail);
        repo::audit::record(&mut tx, &entry).await?;
    }
    if updated.status != current.status {
        let detail = json!({"status": updated.status});
        let entry = Entry::by(&caller, &ip, "user.status_changed", id, detail);
        repo::audit::record(&mut tx, &entry).await?;
    }
    committed(tx, &updated, updated.version).await
}

/// An administrator sets a user's password (and lifts a sign-in lockout).
#[utoipa::path(post, path = "/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path),
        docs::IdempotencyKey),
    request_body = SetPassword,
    responses((status = 204), BadRequest, Denied, docs::BodyRefused, NotFound, Invalid),
    security(("bearer" = ["users:write"])))]
pub async fn set_password(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    post(&state, tx, idem, body, async |tx, body: SetPassword| {
        let mut errors = FieldErrors::default();
        check_password(&mut errors, "password", &body.password);
        errors.finish().map_err(AuthError::Validation)?;
        if !repo::users::set_password(tx, id, &hash_secret(&body.password)).await? {
            return Err(AuthError::NotFound);
        }
        let entry = Entry::by(&caller, &ip, "user.password_set", id, json!({}));
        repo::audit::record(tx, &entry).await?;
        Ok(no_content()?)
    })
    .await
}

/// A user changes their own password (403 `users_only` for tokens that are
/// not a user's; 422 `incorrect` for a wrong current password).
#[utoipa::path(post, path = "/v1/users/me/password", tag = "users", request_body = ChangePassword,
    params(docs::IdempotencyKey),
    responses((status = 204), BadRequest, Denied, docs::BodyRefused, Invalid),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let (id, tx) = as_user(&state, &caller).await?;
    post(&state, tx, idem, body, async |tx, body: ChangePassword| {
        let mut errors = FieldErrors::default();
        check_password(&mut errors, "new_password", &body.new_password);
        errors.finish().map_err(AuthError::Validation)?;
        let hash = repo::users::lock_password(tx, id).await?.flatten();
        let ok = hash.is_some_and(|h| verify_secret(&body.current_password, &h));
        let target = Some(id.to_string());
        let action = "user.password_changed";
        let entry = Entry::attempt(&caller.subject, &ip, action, target, ok, json!({}));
        if !ok {
            // On record although this request's transaction rolls back.
            record_apart(&state, tx.tenant(), &entry).await?;
            return Err(AuthError::Validation(vec![FieldError::with_code(
                "current_password",
                "incorrect",
                "is not correct",
            )]));
        }
        repo::audit::record(tx, &entry).await?;
        repo::users::set_password(tx, id, &hash_secret(&body.new_password)).await?;
        Ok(no_content()?)
    })
    .await
}

/// Records a refused attempt in a transaction of its own.
async fn record_apart(state: &AuthState, tenant: Uuid, entry: &Entry) -> Result<(), AuthError> {
    let tx = Tx::for_tenant(&state.store, tenant).await?;
    read(tx, async |tx| Ok(repo::audit::record(tx, entry).await?)).await
}
