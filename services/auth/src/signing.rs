//! Token signing keys, kept in the database with their private parts sealed
//! by the master key. A rotated key is published before it signs; a retired
//! one stays published until every token it signed has expired.

use chrono::{Duration, Utc};
use jsonwebtoken::jwk::JwkSet;
use psa_authn::keys::SigningKey;
use sqlx::PgPool;

use crate::error::AuthError;
use crate::secrets::MasterKey;

/// Creates the first key when there is none (idempotent across processes).
pub async fn ensure_key(pool: &PgPool, master: &MasterKey) -> Result<(), AuthError> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('psa-auth-signing-keys', 0))")
        .execute(&mut *tx)
        .await?;
    let any: bool = sqlx::query_scalar(
        "select exists(select 1 from auth.signing_keys where retired_at is null)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !any {
        insert_key(&mut tx, master, Duration::zero()).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_key(
    conn: &mut sqlx::PgConnection,
    master: &MasterKey,
    activation_delay: Duration,
) -> Result<String, AuthError> {
    let key = SigningKey::generate();
    let jwk = serde_json::to_value(&key.jwks().keys[0])
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    sqlx::query(
        "insert into auth.signing_keys (kid, alg, public_jwk, private_key_enc, activates_at) values ($1, 'EdDSA', $2, $3, $4)",
    )
    .bind(key.kid())
    .bind(jwk)
    .bind(master.encrypt(key.pkcs8()))
    .bind(Utc::now() + activation_delay)
    .execute(conn)
    .await?;
    Ok(key.kid().to_owned())
}

/// Adds a new key that signs after `activation_delay`; the keys signing now
/// stop then and stay published for `token_ttl` (plus leeway) longer.
pub async fn rotate(
    pool: &PgPool,
    master: &MasterKey,
    activation_delay_secs: i64,
    token_ttl_secs: i64,
) -> Result<String, AuthError> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('psa-auth-signing-keys', 0))")
        .execute(&mut *tx)
        .await?;
    let delay = Duration::seconds(activation_delay_secs.max(0));
    let kid = insert_key(&mut tx, master, delay).await?;
    sqlx::query(
        "update auth.signing_keys set retired_at = now() + $2, expires_at = now() + $2 + $3
         where kid <> $1 and retired_at is null",
    )
    .bind(&kid)
    .bind(delay)
    .bind(Duration::seconds(token_ttl_secs + 60))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(kid)
}

async fn current_sealed(pool: &PgPool) -> Result<Option<Vec<u8>>, AuthError> {
    Ok(sqlx::query_scalar(
        "select private_key_enc from auth.signing_keys
         where activates_at <= now() and (retired_at is null or retired_at > now())
         order by activates_at desc limit 1",
    )
    .fetch_optional(pool)
    .await?)
}

/// The key that signs now (the first one is made on first use).
pub async fn current(pool: &PgPool, master: &MasterKey) -> Result<SigningKey, AuthError> {
    let sealed = match current_sealed(pool).await? {
        Some(s) => s,
        None => {
            ensure_key(pool, master).await?;
            current_sealed(pool)
                .await?
                .ok_or_else(|| AuthError::Internal("no active signing key".into()))?
        }
    };
    let pkcs8 = master
        .decrypt(&sealed)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    SigningKey::from_pkcs8(&pkcs8).map_err(|e| AuthError::Internal(e.to_string()))
}

/// Every key a verifier should know now.
pub async fn published(pool: &PgPool, master: &MasterKey) -> Result<JwkSet, AuthError> {
    let query = || {
        sqlx::query_scalar::<_, serde_json::Value>(
            "select public_jwk from auth.signing_keys where expires_at is null or expires_at > now() order by created_at",
        )
        .fetch_all(pool)
    };
    let mut keys = query().await?;
    if keys.is_empty() {
        ensure_key(pool, master).await?;
        keys = query().await?;
    }
    serde_json::from_value(serde_json::json!({ "keys": keys }))
        .map_err(|e| AuthError::Internal(e.to_string()))
}
