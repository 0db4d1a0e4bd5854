//! The credential check behind the sign-in page: password, then the second
//! factor, with growing delays and a temporary lockout after failures. Every
//! attempt is on the audit trail.

use axum::http::StatusCode;
use chrono::Utc;
use psa_kernel::Tx;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::crypto::secrets::{hash_secret, verify_secret};
use crate::crypto::totp;
use crate::domain::audit::Entry;
use crate::domain::login::failure_delay;
use crate::domain::mfa::looks_like_recovery_code;
use crate::domain::user::UserStatus;
use crate::error::AuthError;
use crate::repo;
use crate::state::AuthState;

pub enum Outcome {
    Ok {
        tenant: Uuid,
        user_id: Uuid,
    },
    /// The form again, with this message, answered with this status; `otp`
    /// asks for the second factor.
    Retry {
        message: String,
        status: StatusCode,
        otp: bool,
    },
}

fn retry(message: &str, status: StatusCode, otp: bool) -> Outcome {
    Outcome::Retry {
        message: message.to_owned(),
        status,
        otp,
    }
}

fn wrong() -> Outcome {
    retry(
        "Wrong company, e-mail or password.",
        StatusCode::UNAUTHORIZED,
        false,
    )
}

/// A hash to verify against when the user does not exist, so that unknown
/// and known e-mail addresses take the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_secret("not a real password"))
}

pub struct Credentials<'a> {
    pub tenant_slug: &'a str,
    /// Lower case.
    pub email: &'a str,
    pub password: &'a str,
    pub otp: &'a str,
    pub ip: Option<String>,
}

pub async fn check(state: &AuthState, c: &Credentials<'_>) -> Result<Outcome, AuthError> {
    let Some(tenant) = repo::tenants::active_by_slug(&state.store.pool, c.tenant_slug).await?
    else {
        verify_secret(c.password, dummy_hash());
        return Ok(wrong());
    };
    let mut tx = Tx::for_tenant(&state.store, tenant).await?;
    let failed = |target: Option<Uuid>, detail| {
        let target = target.map(|t| t.to_string());
        Entry::attempt(c.email, &c.ip, "sign_in", target, false, detail)
    };
    let Some(user) = repo::users::lock_sign_in(&mut tx, c.email).await? else {
        verify_secret(c.password, dummy_hash());
        let entry = failed(None, json!({"reason": "unknown user"}));
        repo::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Ok(wrong());
    };
    if let Some(at) = user.next_login_at.filter(|at| *at > Utc::now()) {
        let secs = (at - Utc::now()).num_seconds().max(1);
        let entry = failed(Some(user.id), json!({"reason": "throttled"}));
        repo::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Ok(retry(
            &format!("Too many failed attempts. Try again in {secs} seconds."),
            StatusCode::TOO_MANY_REQUESTS,
            false,
        ));
    }
    let password_ok = user
        .password_hash
        .as_deref()
        .is_some_and(|h| verify_secret(c.password, h));
    if !password_ok || user.status != UserStatus::Active {
        let failures = user.failed_logins + 1;
        let cfg = &state.config.auth_server;
        let delay = failure_delay(
            failures,
            cfg.login_failures_before_delay,
            cfg.login_lockout_after,
            cfg.login_lockout_secs,
        );
        let next_at = delay.map(|d| Utc::now() + d);
        repo::users::record_failure(&mut tx, user.id, failures, next_at).await?;
        let reason = if user.status != UserStatus::Active {
            "user suspended"
        } else {
            "wrong password"
        };
        let entry = failed(
            Some(user.id),
            json!({"reason": reason, "failures": failures}),
        );
        repo::audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        return Ok(wrong());
    }
    if user.mfa_enabled {
        if c.otp.is_empty() {
            tx.commit().await?;
            return Ok(retry(
                "Enter the code from your authenticator app or a recovery code.",
                StatusCode::OK,
                true,
            ));
        }
        if !second_factor(&mut tx, state, user.id, c.otp).await? {
            let entry = failed(Some(user.id), json!({"reason": "wrong second factor"}));
            repo::audit::record(&mut tx, &entry).await?;
            tx.commit().await?;
            return Ok(retry(
                "That code is not valid (each code works once).",
                StatusCode::UNAUTHORIZED,
                true,
            ));
        }
    } else if repo::tenants::info(&mut *tx, tenant)
        .await?
        .is_some_and(|t| t.mfa_required)
    {
        tx.commit().await?;
        return Ok(retry(
            "Your organisation requires two-factor sign-in; ask an administrator to set it up.",
            StatusCode::FORBIDDEN,
            false,
        ));
    }
    repo::users::clear_failures(&mut tx, user.id).await?;
    let target = Some(user.id.to_string());
    let detail = json!({"mfa": user.mfa_enabled});
    let entry = Entry::attempt(c.email, &c.ip, "sign_in", target, true, detail);
    repo::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Outcome::Ok {
        tenant,
        user_id: user.id,
    })
}

/// Checks a TOTP code (once per step) or a recovery code (once ever), and
/// records its use in the sign-in's transaction.
async fn second_factor(
    conn: &mut PgConnection,
    state: &AuthState,
    user_id: Uuid,
    code: &str,
) -> Result<bool, AuthError> {
    let Some(repo::users::Totp {
        secret_enc: Some(sealed),
        last_step,
        ..
    }) = repo::users::lock_totp(&mut *conn, user_id).await?
    else {
        return Ok(false);
    };
    let secret = state
        .master
        .decrypt(&sealed)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    if let Some(step) = totp::verify(&secret, code, Utc::now().timestamp(), last_step) {
        repo::users::use_totp_step(conn, user_id, step).await?;
        return Ok(true);
    }
    let code = code.trim().to_lowercase();
    if !looks_like_recovery_code(&code) {
        return Ok(false);
    }
    for hash in repo::recovery_codes::unused(&mut *conn, user_id).await? {
        if verify_secret(&code, &hash) {
            repo::recovery_codes::spend(conn, user_id, &hash).await?;
            return Ok(true);
        }
    }
    Ok(false)
}
