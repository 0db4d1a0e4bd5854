//! Users: staff of a tenant, their roles, passwords and second factor.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_http::pagination::Page;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, etagged, list_by_id, scoped, with_location};
use crate::audit::{self, Event, client_ip};
use crate::error::AuthError;
use crate::secrets::{hash_secret, verify_secret};
use crate::state::AuthState;
use crate::{mfa, perms, tokens, totp};

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub roles: Vec<String>,
    #[sqlx(rename = "totp_confirmed")]
    pub mfa_enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, email, name, status, roles, totp_confirmed, version, created_at, updated_at";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Optional initial password (12 to 256 characters).
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(max_length = 200, pattern = "\\S")]
    pub name: Option<String>,
    /// `active` or `suspended`.
    #[schema(pattern = "^(active|suspended)$")]
    pub status: Option<String>,
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret, shown once.
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Single-use codes, shown once.
    pub recovery_codes: Vec<String>,
}

fn check_password(field: &str, pw: &str) -> Result<(), AuthError> {
    let n = pw.chars().count();
    if !(12..=256).contains(&n) {
        return Err(AuthError::invalid(field, "must be 12 to 256 characters"));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), AuthError> {
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::invalid("email", "must be an e-mail address"))
    }
}

/// Role assignment: roles must exist, and the caller must hold everything they grant.
async fn check_roles(
    conn: &mut PgConnection,
    state: &AuthState,
    caller: &Caller,
    roles: &[String],
) -> Result<(), AuthError> {
    perms::check_roles_exist(conn, roles).await?;
    let granted = perms::of_roles(conn, &state.registry, roles).await?;
    let platform = tokens::tenant_info(&state.pool, caller.tenant()?)
        .await?
        .is_some_and(|t| t.is_platform);
    perms::check_grant(&state.registry, caller, &granted, platform, "roles")
}

async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<User, AuthError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from auth.users where id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AuthError::NotFound)
}

/// The caller as a user of its tenant (tokens of service accounts and keys are not).
fn me(caller: &Caller) -> Result<Uuid, AuthError> {
    Uuid::parse_str(&caller.subject)
        .map_err(|_| AuthError::Forbidden("only users have this".into()))
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 409), (status = 422)), security(("bearer" = ["users:write"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<NewUser>,
) -> Result<Response, AuthError> {
    let (tenant, mut tx) = scoped(&state, &caller, "users:write").await?;
    // Users belong to a tenant the platform knows (a token may name any id).
    if tokens::tenant_info(&state.pool, tenant).await?.is_none() {
        return Err(AuthError::Conflict(
            "this tenant is not registered with the platform; an operator creates it first".into(),
        ));
    }
    let email = body.email.trim().to_lowercase();
    check_email(&email)?;
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    if let Some(pw) = &body.password {
        check_password("password", pw)?;
    }
    check_roles(&mut tx, &state, &caller, &body.roles).await?;
    let id = Uuid::now_v7();
    let user: User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into auth.users (id, email, name, status, roles, password_hash) values ($1, $2, $3, 'active', $4, $5)
         on conflict (tenant_id, email) do nothing returning {COLUMNS}"
    )))
    .bind(id)
    .bind(&email)
    .bind(body.name.trim())
    .bind(&body.roles)
    .bind(body.password.as_deref().map(hash_secret))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AuthError::Conflict("a user with this e-mail exists".into()))?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "user.created",
        id.to_string(),
        json!({"roles": body.roles}),
    )
    .await?;
    tx.commit().await?;
    let res = etagged(StatusCode::CREATED, &user, user.version);
    let res = with_location(res, &format!("/v1/users/{id}"));
    Ok(res)
}

#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListParams),
    responses((status = 200, body = Page<User>)), security(("bearer" = ["users:read"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<axum::Json<Page<User>>, AuthError> {
    list_by_id(
        &state,
        &caller,
        "users:read",
        COLUMNS,
        "auth.users",
        &q,
        |u: &User| u.id,
    )
    .await
    .map(axum::Json)
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = User), (status = 404)), security(("bearer" = ["users:read"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "users:read").await?;
    let u = fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(etagged(StatusCode::OK, &u, u.version))
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatch,
    responses((status = 200, body = User), (status = 403), (status = 404), (status = 412)), security(("bearer" = ["users:write"])))]
pub async fn patch(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    Json(body): Json<UserPatch>,
) -> Result<Response, AuthError> {
    let precondition = psa_http::conditional::IfMatch::from_headers(&headers)?;
    let (_, mut tx) = scoped(&state, &caller, "users:write").await?;
    let current: User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from auth.users where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuthError::NotFound)?;
    psa_http::conditional::check_if_match(precondition.as_ref(), current.version)?;
    if let Some(status) = &body.status
        && status != "active"
        && status != "suspended"
    {
        return Err(AuthError::invalid("status", "active or suspended"));
    }
    if body
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.len() > 200)
    {
        return Err(AuthError::invalid("name", "1-200 characters"));
    }
    if let Some(roles) = &body.roles {
        check_roles(&mut tx, &state, &caller, roles).await?;
    }
    let updated: User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update auth.users set name = coalesce($2, name), status = coalesce($3, status), roles = coalesce($4, roles),
         version = version + 1, updated_at = now() where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .bind(body.name.as_deref().map(str::trim))
    .bind(&body.status)
    .bind(&body.roles)
    .fetch_one(&mut *tx)
    .await?;
    if body.roles.is_some() && updated.roles != current.roles {
        audit::by_caller(
            &mut tx,
            &caller,
            &headers,
            "user.roles_changed",
            id.to_string(),
            json!({"from": current.roles, "to": updated.roles}),
        )
        .await?;
    }
    if updated.status != current.status {
        audit::by_caller(
            &mut tx,
            &caller,
            &headers,
            "user.status_changed",
            id.to_string(),
            json!({"status": updated.status}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(etagged(StatusCode::OK, &updated, updated.version))
}

/// An administrator sets a user's password.
#[utoipa::path(post, path = "/v1/users/{id}/password", tag = "users", params(("id" = Uuid, Path)), request_body = SetPassword,
    responses((status = 204), (status = 404), (status = 422)), security(("bearer" = ["users:write"])))]
pub async fn set_password(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    Json(body): Json<SetPassword>,
) -> Result<Response, AuthError> {
    check_password("password", &body.password)?;
    let (_, mut tx) = scoped(&state, &caller, "users:write").await?;
    let n = sqlx::query("update auth.users set password_hash = $2, failed_logins = 0, next_login_at = null, version = version + 1, updated_at = now() where id = $1")
        .bind(id)
        .bind(hash_secret(&body.password))
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
        "user.password_set",
        id.to_string(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A user changes their own password.
#[utoipa::path(post, path = "/v1/users/me/password", tag = "users", request_body = ChangePassword,
    responses((status = 204), (status = 422)), security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<ChangePassword>,
) -> Result<Response, AuthError> {
    let id = me(&caller)?;
    check_password("new_password", &body.new_password)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let hash: Option<Option<String>> =
        sqlx::query_scalar("select password_hash from auth.users where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let ok = hash
        .flatten()
        .is_some_and(|h| verify_secret(&body.current_password, &h));
    audit::record(
        &mut tx,
        Event {
            action: "user.password_changed",
            actor: &caller.subject,
            target: Some(id.to_string()),
            success: ok,
            ip: client_ip(&headers),
            detail: json!({}),
        },
    )
    .await?;
    if !ok {
        tx.commit().await?;
        return Err(AuthError::invalid("current_password", "is not correct"));
    }
    sqlx::query("update auth.users set password_hash = $2, version = version + 1, updated_at = now() where id = $1")
        .bind(id)
        .bind(hash_secret(&body.new_password))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Starts TOTP enrolment: returns the secret once; sign-in needs it only after confirmation.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp", tag = "users",
    responses((status = 200, body = TotpEnrolment), (status = 409, description = "already enrolled")), security(("bearer" = [])))]
pub async fn totp_enrol(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<axum::Json<TotpEnrolment>, AuthError> {
    let id = me(&caller)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let user = fetch(&mut tx, id).await?;
    if user.mfa_enabled {
        return Err(AuthError::Conflict(
            "two-factor sign-in is already on; an administrator can reset it".into(),
        ));
    }
    let (secret, sealed) = mfa::new_secret(&state);
    sqlx::query("update auth.users set totp_secret_enc = $2, totp_last_step = null where id = $1")
        .bind(id)
        .bind(sealed)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(axum::Json(TotpEnrolment {
        secret: data_encoding::BASE32_NOPAD.encode(&secret),
        otpauth_uri: totp::otpauth_uri(&secret, "PSA", &user.email),
    }))
}

/// Confirms enrolment with a current code; returns the recovery codes once.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp/confirm", tag = "users", request_body = TotpConfirm,
    responses((status = 200, body = RecoveryCodes), (status = 422)), security(("bearer" = [])))]
pub async fn totp_confirm(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<TotpConfirm>,
) -> Result<axum::Json<RecoveryCodes>, AuthError> {
    let id = me(&caller)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let row: Option<(Option<Vec<u8>>, bool)> = sqlx::query_as(
        "select totp_secret_enc, totp_confirmed from auth.users where id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(sealed), false)) = row else {
        return Err(AuthError::Conflict("no enrolment is pending".into()));
    };
    let secret = state
        .master
        .decrypt(&sealed)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let Some(step) = totp::verify(&secret, &body.code, Utc::now().timestamp(), None) else {
        return Err(AuthError::invalid("code", "is not the current code"));
    };
    sqlx::query("update auth.users set totp_confirmed = true, totp_last_step = $2, version = version + 1, updated_at = now() where id = $1")
        .bind(id)
        .bind(step)
        .execute(&mut *tx)
        .await?;
    let codes = mfa::recovery_codes();
    mfa::store_recovery_codes(&mut tx, id, &codes).await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "mfa.enabled",
        id.to_string(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// An administrator turns a user's second factor off (lost device).
#[utoipa::path(delete, path = "/v1/users/{id}/mfa", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = ["users:write"])))]
pub async fn reset_mfa(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let (_, mut tx) = scoped(&state, &caller, "users:write").await?;
    let n = sqlx::query("update auth.users set totp_secret_enc = null, totp_confirmed = false, totp_last_step = null, version = version + 1, updated_at = now() where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AuthError::NotFound);
    }
    sqlx::query("delete from auth.recovery_codes where user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::by_caller(
        &mut tx,
        &caller,
        &headers,
        "mfa.reset",
        id.to_string(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
