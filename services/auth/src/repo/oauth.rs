//! `auth.authorization_codes` and `auth.refresh_tokens`: looked up by the
//! SHA-256 of the presented value (high-entropy and short-lived, so a fast
//! hash is enough), in the tenant the value names.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub user_id: Uuid,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_code(conn: &mut PgConnection, c: &NewCode<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into auth.authorization_codes
             (code_hash, user_id, client_id, redirect_uri, code_challenge, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        c.code_hash,
        c.user_id,
        c.client_id,
        c.redirect_uri,
        c.code_challenge,
        c.expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Code {
    pub user_id: Uuid,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub used: bool,
    pub expired: bool,
}

/// Takes the code (locked) and spends it, whatever the outcome of the
/// exchange: a code is good for one presentation.
pub async fn take_code(conn: &mut PgConnection, hash: &str) -> Result<Option<Code>, sqlx::Error> {
    let code = sqlx::query_as!(
        Code,
        r#"select user_id, client_id, redirect_uri, code_challenge,
               used_at is not null as "used!", expires_at < now() as "expired!"
           from auth.authorization_codes where code_hash = $1 for update"#,
        hash
    )
    .fetch_optional(&mut *conn)
    .await?;
    if code.as_ref().is_some_and(|c| !c.used) {
        sqlx::query!(
            "update auth.authorization_codes set used_at = now() where code_hash = $1",
            hash
        )
        .execute(conn)
        .await?;
    }
    Ok(code)
}

pub struct NewRefresh<'a> {
    pub token_hash: &'a str,
    pub family: Uuid,
    pub user_id: Uuid,
    pub client_id: &'a str,
    pub ttl_secs: i64,
}

pub async fn insert_refresh(
    conn: &mut PgConnection,
    r: &NewRefresh<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into auth.refresh_tokens (token_hash, family_id, user_id, client_id, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        r.token_hash,
        r.family,
        r.user_id,
        r.client_id,
        r.ttl_secs as f64
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Refresh {
    pub family: Uuid,
    pub user_id: Uuid,
    pub client_id: String,
    pub rotated: bool,
    pub revoked: bool,
    pub expired: bool,
}

pub async fn lock_refresh(
    conn: &mut PgConnection,
    hash: &str,
) -> Result<Option<Refresh>, sqlx::Error> {
    sqlx::query_as!(
        Refresh,
        r#"select family_id as family, user_id, client_id,
               rotated_at is not null as "rotated!", revoked_at is not null as "revoked!",
               expires_at < now() as "expired!"
           from auth.refresh_tokens where token_hash = $1 for update"#,
        hash
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_rotated(conn: &mut PgConnection, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.refresh_tokens set rotated_at = now() where token_hash = $1",
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn revoke_family(conn: &mut PgConnection, family: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null",
        family
    )
    .execute(conn)
    .await?;
    Ok(())
}
