//! `/v1/users`: staff of a tenant, their roles and passwords.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::IfMatch;
use psa_http::extract::{Json, JsonValue, PathId, Query, from_value};
use psa_http::problem::ProblemBody;
use psa_http::validate::FieldErrors;
use psa_kernel::{Guarded, Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ClientIp, as_user, check_roles, merged, no_content};
use crate::crypto::secrets::{hash_secret, verify_secret};
use crate::domain::audit::Entry;
use crate::domain::user::{
    ChangePassword, NewUser, SetPassword, User, UserInput, UserStatus, check_password,
};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{USERS_READ, USERS_WRITE, repo};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response")),
    responses(
        (status = 201, body = User, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`email_taken`, `tenant_not_registered`"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let guard = match idem.sealed(state.sealer()).guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let user = from_value::<NewUser>(body)?
        .normalized()
        .map_err(AuthError::Validation)?;
    // Users belong to a tenant the platform knows (a token may name any id).
    let tenant = tx.tenant();
    if repo::tenants::info(&mut *tx, tenant).await?.is_none() {
        return Err(AuthError::TenantNotRegistered);
    }
    check_roles(&mut tx, &state, &caller, &user.roles).await?;
    let id = Uuid::now_v7();
    let hash = user.password.as_deref().map(hash_secret);
    let created = repo::users::insert(&mut tx, id, &user, hash).await?;
    let detail = json!({"roles": created.roles});
    repo::audit::record(
        &mut tx,
        &Entry::by(&caller, &ip, "user.created", id, detail),
    )
    .await?;
    let location = format!("/v1/users/{id}");
    let stored = Stored::created(&location, &created, created.version)?;
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserFilter, PageParams),
    responses(
        (status = 200, body = Page<User>),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<UserFilter>,
) -> Result<axum::Json<Page<User>>, AuthError> {
    let keyset = q.page.keyset(repo::users::SORTS, SortField::CREATED_AT)?;
    let mut tx = Tx::begin(&state.store, &caller, USERS_READ.name).await?;
    let page = repo::users::page(&mut tx, q.status, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = User, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_READ.name).await?;
    let user = repo::users::get(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &user, user.version))
}

/// Renames, suspends or reactivates a user, or sets their roles. A patch
/// that changes nothing makes no new version and no audit event.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users",
    request_body(content = UserInput, content_type = "application/merge-patch+json",
        description = "JSON Merge Patch (RFC 7396) over `name`, `status` and `roles`"),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\"; 412 when stale")),
    responses(
        (status = 200, body = User, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
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
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let current = repo::users::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    psa_http::conditional::check_if_match(precondition.as_ref(), current.version)?;
    let before = UserInput::from(&current);
    let Some(input) = merged(&before, &patch, UserInput::normalized)? else {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    };
    if input.roles != before.roles {
        check_roles(&mut tx, &state, &caller, &input.roles).await?;
    }
    let updated = repo::users::update(&mut tx, id, &input).await?;
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
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &updated, updated.version))
}

/// An administrator sets a user's password (and lifts a sign-in lockout).
#[utoipa::path(post, path = "/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response")),
    request_body = SetPassword,
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn set_password(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let guard = match idem.sealed(state.sealer()).guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let body: SetPassword = from_value(body)?;
    let mut errors = FieldErrors::default();
    check_password(&mut errors, "password", &body.password);
    errors.finish().map_err(AuthError::Validation)?;
    if !repo::users::set_password(&mut tx, id, &hash_secret(&body.password)).await? {
        return Err(AuthError::NotFound);
    }
    let entry = Entry::by(&caller, &ip, "user.password_set", id, json!({}));
    repo::audit::record(&mut tx, &entry).await?;
    let res = guard.finish(&mut tx, no_content()?).await?;
    tx.commit().await?;
    Ok(res)
}

/// A user changes their own password.
#[utoipa::path(post, path = "/v1/users/me/password", tag = "users", request_body = ChangePassword,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response")),
    responses(
        (status = 204),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`users_only`: the token is not a user's"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let (id, mut tx) = as_user(&state, &caller).await?;
    let guard = match idem.sealed(state.sealer()).guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let body: ChangePassword = from_value(body)?;
    let mut errors = FieldErrors::default();
    check_password(&mut errors, "new_password", &body.new_password);
    errors.finish().map_err(AuthError::Validation)?;
    let hash = repo::users::lock_password(&mut tx, id).await?.flatten();
    let ok = hash.is_some_and(|h| verify_secret(&body.current_password, &h));
    let target = Some(id.to_string());
    let entry = Entry::attempt(
        &caller.subject,
        &ip,
        "user.password_changed",
        target,
        ok,
        json!({}),
    );
    repo::audit::record(&mut tx, &entry).await?;
    if !ok {
        // The failed attempt stays on record.
        tx.commit().await?;
        return Err(AuthError::invalid("current_password", "is not correct"));
    }
    repo::users::set_password(&mut tx, id, &hash_secret(&body.new_password)).await?;
    let res = guard.finish(&mut tx, no_content()?).await?;
    tx.commit().await?;
    Ok(res)
}
