//! `auth.signing_keys`: platform level (one issuer for every tenant), the
//! private parts sealed by the master key.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Serializes key changes across processes until the transaction ends.
pub async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended('psa-auth-signing-keys', 0))")
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether some key is not retired.
pub async fn any_unretired(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from auth.signing_keys where retired_at is null) as "any!""#
    )
    .fetch_one(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    kid: &str,
    public_jwk: &serde_json::Value,
    private_key_enc: &[u8],
    activates_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into auth.signing_keys (kid, alg, public_jwk, private_key_enc, activates_at)
         values ($1, 'EdDSA', $2, $3, $4)",
        kid,
        public_jwk,
        private_key_enc,
        activates_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every key but `kid` stops signing at `retired_at` and is unpublished at `expires_at`.
pub async fn retire_others(
    conn: &mut PgConnection,
    kid: &str,
    retired_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.signing_keys set retired_at = $2, expires_at = $3
         where kid <> $1 and retired_at is null",
        kid,
        retired_at,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The sealed private key that signs now.
pub async fn signing_now(pool: &PgPool) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!(
        "select private_key_enc from auth.signing_keys
         where activates_at <= now() and (retired_at is null or retired_at > now())
         order by activates_at desc limit 1"
    )
    .fetch_optional(pool)
    .await
}

/// The public keys verifiers should know now, oldest first.
pub async fn published(pool: &PgPool) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!(
        "select public_jwk from auth.signing_keys
         where expires_at is null or expires_at > now() order by created_at"
    )
    .fetch_all(pool)
    .await
}
