//! TOTP enrolment and checks, and single-use recovery codes.

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::AuthError;
use crate::secrets::{hash_secret, random_bytes, verify_secret};
use crate::state::AuthState;
use crate::totp;

pub const RECOVERY_CODES: usize = 10;

/// A fresh 160-bit TOTP secret, sealed for storage.
pub fn new_secret(state: &AuthState) -> (Vec<u8>, Vec<u8>) {
    let secret = random_bytes::<20>().to_vec();
    let sealed = state.master.encrypt(&secret);
    (secret, sealed)
}

pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let b = data_encoding::BASE32_NOPAD
                .encode(&random_bytes::<7>())
                .to_lowercase();
            format!("{}-{}", &b[..5], &b[5..10])
        })
        .collect()
}

pub async fn store_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
    codes: &[String],
) -> Result<(), AuthError> {
    sqlx::query("delete from auth.recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for c in codes {
        sqlx::query("insert into auth.recovery_codes (user_id, code_hash) values ($1, $2)")
            .bind(user_id)
            .bind(hash_secret(c))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Checks a TOTP code (once per step) or a recovery code (once ever).
/// Records the use in the caller's transaction.
pub async fn check_code(
    conn: &mut PgConnection,
    state: &AuthState,
    user_id: Uuid,
    code: &str,
) -> Result<bool, AuthError> {
    let row: Option<(Option<Vec<u8>>, Option<i64>)> = sqlx::query_as(
        "select totp_secret_enc, totp_last_step from auth.users where id = $1 for update",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((Some(sealed), last)) = row else {
        return Ok(false);
    };
    let secret = state
        .master
        .decrypt(&sealed)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    if let Some(step) = totp::verify(&secret, code, Utc::now().timestamp(), last) {
        sqlx::query("update auth.users set totp_last_step = $2 where id = $1")
            .bind(user_id)
            .bind(step)
            .execute(&mut *conn)
            .await?;
        return Ok(true);
    }
    let code = code.trim().to_lowercase();
    if code.len() != 11 {
        return Ok(false);
    }
    let hashes: Vec<String> = sqlx::query_scalar(
        "select code_hash from auth.recovery_codes where user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    for h in hashes {
        if verify_secret(&code, &h) {
            sqlx::query("update auth.recovery_codes set used_at = now() where user_id = $1 and code_hash = $2")
                .bind(user_id)
                .bind(&h)
                .execute(&mut *conn)
                .await?;
            return Ok(true);
        }
    }
    Ok(false)
}
