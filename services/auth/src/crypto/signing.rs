//! Token signing keys, kept in the database with their private parts sealed
//! by the master key. A rotated key is published before it signs; a retired
//! one stays published until every token it signed has expired.

use chrono::{Duration, Utc};
use jsonwebtoken::jwk::JwkSet;
use psa_authn::keys::SigningKey;
use sqlx::{PgConnection, PgPool};

use super::secrets::MasterKey;
use crate::error::AuthError;
use crate::repo::signing_keys;

/// Creates the first key when there is none (idempotent across processes).
pub async fn ensure_key(pool: &PgPool, master: &MasterKey) -> Result<(), AuthError> {
    let mut tx = pool.begin().await?;
    signing_keys::lock(&mut tx).await?;
    if !signing_keys::any_unretired(&mut tx).await? {
        insert_key(&mut tx, master, Duration::zero()).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_key(
    conn: &mut PgConnection,
    master: &MasterKey,
    activation_delay: Duration,
) -> Result<String, AuthError> {
    let key = SigningKey::generate();
    let jwk = serde_json::to_value(&key.jwks().keys[0])
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    signing_keys::insert(
        conn,
        key.kid(),
        &jwk,
        &master.encrypt(key.pkcs8()),
        Utc::now() + activation_delay,
    )
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
    signing_keys::lock(&mut tx).await?;
    let delay = Duration::seconds(activation_delay_secs.max(0));
    let kid = insert_key(&mut tx, master, delay).await?;
    let retired_at = Utc::now() + delay;
    let expires_at = retired_at + Duration::seconds(token_ttl_secs + 60);
    signing_keys::retire_others(&mut tx, &kid, retired_at, expires_at).await?;
    tx.commit().await?;
    Ok(kid)
}

/// The key that signs now (the first one is made on first use).
pub async fn current(pool: &PgPool, master: &MasterKey) -> Result<SigningKey, AuthError> {
    let sealed = match signing_keys::signing_now(pool).await? {
        Some(s) => s,
        None => {
            ensure_key(pool, master).await?;
            signing_keys::signing_now(pool)
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
    let mut keys = signing_keys::published(pool).await?;
    if keys.is_empty() {
        ensure_key(pool, master).await?;
        keys = signing_keys::published(pool).await?;
    }
    serde_json::from_value(serde_json::json!({ "keys": keys }))
        .map_err(|e| AuthError::Internal(e.to_string()))
}
