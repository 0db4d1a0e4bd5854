//! The second factor: a user enrols TOTP for themselves (secret and then
//! recovery codes shown once); an administrator resets it (lost device).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, from_value};
use psa_http::problem::ProblemBody;
use psa_kernel::{Guarded, Idempotency, Stored, Tx};
use serde_json::{Value, json};

use super::{ClientIp, NO_STORE, as_user};
use crate::crypto::secrets::hash_secret;
use crate::crypto::totp;
use crate::domain::audit::Entry;
use crate::domain::mfa::{
    RecoveryCodes, TotpConfirm, TotpEnrolment, new_totp_secret, recovery_codes,
};
use crate::error::AuthError;
use crate::repo::users::Totp;
use crate::state::AuthState;
use crate::{USERS_WRITE, repo};

/// Starts TOTP enrolment: returns the secret once; sign-in asks for codes
/// only after [`totp_confirm`]. Takes no body.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp", tag = "users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key within 24 h returns the first response")),
    responses(
        (status = 200, body = TotpEnrolment),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`users_only`: the token is not a user's"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`mfa_already_enabled`"),
    ),
    security(("bearer" = [])))]
pub async fn totp_enrol(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
) -> Result<Response, AuthError> {
    let (id, mut tx) = as_user(&state, &caller).await?;
    let guard = match idem
        .sealed(state.sealer())
        .guard(&mut tx, &Value::Null)
        .await?
    {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let user = repo::users::get(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    if user.mfa_enabled {
        return Err(AuthError::MfaEnabled);
    }
    let secret = new_totp_secret();
    repo::users::begin_totp(&mut tx, id, &state.master.encrypt(&secret)).await?;
    let enrolment = TotpEnrolment {
        secret: data_encoding::BASE32_NOPAD.encode(&secret),
        otpauth_uri: totp::otpauth_uri(&secret, "PSA", &user.email),
    };
    let stored = Stored::new(StatusCode::OK, &enrolment)?.header(NO_STORE.0, NO_STORE.1);
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

/// Confirms enrolment with a current code; returns the recovery codes once.
#[utoipa::path(post, path = "/v1/users/me/mfa/totp/confirm", tag = "users", request_body = TotpConfirm,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response")),
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`users_only`: the token is not a user's"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`no_mfa_enrolment`"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn totp_confirm(
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
    let body: TotpConfirm = from_value(body)?;
    let Some(Totp {
        secret_enc: Some(sealed),
        confirmed: false,
        ..
    }) = repo::users::lock_totp(&mut tx, id).await?
    else {
        return Err(AuthError::NoMfaEnrolment);
    };
    let secret = state
        .master
        .decrypt(&sealed)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let Some(step) = totp::verify(&secret, &body.code, Utc::now().timestamp(), None) else {
        return Err(AuthError::invalid("code", "is not the current code"));
    };
    repo::users::confirm_totp(&mut tx, id, step).await?;
    let codes = recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| hash_secret(c)).collect();
    repo::recovery_codes::replace(&mut tx, id, &hashes).await?;
    let entry = Entry::by(&caller, &ip, "mfa.enabled", id, json!({}));
    repo::audit::record(&mut tx, &entry).await?;
    let body = RecoveryCodes {
        recovery_codes: codes,
    };
    let stored = Stored::new(StatusCode::OK, &body)?.header(NO_STORE.0, NO_STORE.1);
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

/// An administrator turns a user's second factor off (lost device).
#[utoipa::path(delete, path = "/v1/users/{id}/mfa", tag = "users", params(("id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn reset_mfa(
    State(state): State<AuthState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    if !repo::users::reset_totp(&mut tx, id).await? {
        return Err(AuthError::NotFound);
    }
    repo::recovery_codes::delete_all(&mut tx, id).await?;
    let entry = Entry::by(&caller, &ip, "mfa.reset", id, json!({}));
    repo::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
