//! The second factor: a user enrols TOTP for themselves (secret and then
//! recovery codes shown once); an administrator resets it (lost device).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use psa_authn::Caller;
use psa_http::FieldError;
use psa_http::extract::{Json, PathId};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound};
use psa_kernel::{Idempotency, Stored, Tx};
use serde_json::{Value, json};

use super::{ClientIp, NO_STORE, as_user, post, read};
use crate::crypto::secrets::hash_secret;
use crate::crypto::totp;
use crate::domain::audit::Entry;
use crate::domain::mfa::{
    RecoveryCodes, TotpConfirm, TotpEnrolment, new_totp_secret, recovery_codes,
};
use crate::domain::user::User;
use crate::error::AuthError;
use crate::repo::Fetched;
use crate::repo::users::Totp;
use crate::state::AuthState;
use crate::{USERS_WRITE, repo};

/// Starts TOTP enrolment: returns the secret once; sign-in asks for codes
/// only after [`totp_confirm`]. Takes no body. 403 `users_only` for tokens
/// that are not a user's; 409 `mfa_already_enabled`.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp", tag = "users",
    params(docs::IdempotencyKey),
    responses((status = 200, body = TotpEnrolment), BadRequest, Denied, Conflict, Invalid),
    security(("bearer" = [])))]
pub async fn totp_enrol(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
) -> Result<Response, AuthError> {
    let (id, tx) = as_user(&state, &caller).await?;
    post(&state, tx, idem, Value::Null, async |tx, ()| {
        let user = User::get(tx, id).await?.ok_or(AuthError::NotFound)?;
        if user.mfa_enabled {
            return Err(AuthError::MfaEnabled);
        }
        let secret = new_totp_secret();
        repo::users::begin_totp(tx, id, &state.master.encrypt(&secret)).await?;
        let enrolment = TotpEnrolment {
            secret: data_encoding::BASE32_NOPAD.encode(&secret),
            otpauth_uri: totp::otpauth_uri(&secret, "PSA", &user.email),
        };
        Ok(Stored::new(StatusCode::OK, &enrolment)?.header(NO_STORE.0, NO_STORE.1))
    })
    .await
}

/// Confirms enrolment with a current code; returns the recovery codes once.
/// 409 `no_mfa_enrolment` when none is pending; 422 `incorrect` for a code
/// that is not the current one.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp/confirm", tag = "users", request_body = TotpConfirm,
    params(docs::IdempotencyKey),
    responses((status = 200, body = RecoveryCodes), BadRequest, Denied, docs::BodyRefused, Conflict,
        Invalid),
    security(("bearer" = [])))]
pub async fn totp_confirm(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let (id, tx) = as_user(&state, &caller).await?;
    post(&state, tx, idem, body, async |tx, body: TotpConfirm| {
        let Some(Totp {
            secret_enc: Some(sealed),
            confirmed: false,
            ..
        }) = repo::users::lock_totp(tx, id).await?
        else {
            return Err(AuthError::NoMfaEnrolment);
        };
        let secret = state
            .master
            .decrypt(&sealed)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let Some(step) = totp::verify(&secret, &body.code, Utc::now().timestamp(), None) else {
            return Err(AuthError::Validation(vec![FieldError::with_code(
                "code",
                "incorrect",
                "is not the current code",
            )]));
        };
        repo::users::confirm_totp(tx, id, step).await?;
        let codes = recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| hash_secret(c)).collect();
        repo::recovery_codes::replace(tx, id, &hashes).await?;
        let entry = Entry::by(&caller, &ip, "mfa.enabled", id, json!({}));
        repo::audit::record(tx, &entry).await?;
        let body = RecoveryCodes {
            recovery_codes: codes,
        };
        Ok(Stored::new(StatusCode::OK, &body)?.header(NO_STORE.0, NO_STORE.1))
    })
    .await
}

/// An administrator turns a user's second factor off (lost device).
#[utoipa::path(delete, path = "/v1/users/{id}/mfa", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), Denied, NotFound),
    security(("bearer" = ["users:write"])))]
pub async fn reset_mfa(
    State(state): State<AuthState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    read(tx, async |tx| {
        if !repo::users::reset_totp(tx, id).await? {
            return Err(AuthError::NotFound);
        }
        repo::recovery_codes::delete_all(tx, id).await?;
        let entry = Entry::by(&caller, &ip, "mfa.reset", id, json!({}));
        Ok(repo::audit::record(tx, &entry).await?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
