//! `auth.api_keys`: keys as hashes; a revoked key is kept for the record.

use psa_kernel::{Keyset, Page, SortField};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{Fetched, Listed};
use crate::domain::api_key::{ApiKey, NewApiKey};

impl Listed for ApiKey {
    const SORTS: &'static [SortField] = super::BY_NAME;

    fn list_query() -> QueryBuilder<Postgres> {
        QueryBuilder::new(
            "select id, name, permissions, created_by, rate_limit_per_minute, expires_at, \
             revoked_at, last_used_at, version, created_at, updated_at from auth.api_keys \
             where true",
        )
    }

    async fn page(conn: &mut PgConnection, keyset: &Keyset) -> Result<Page<Self>, sqlx::Error> {
        keyset
            .fetch(conn, Self::list_query(), |k: &ApiKey, f| {
                (
                    super::by_name(f, k.id, &k.name, k.created_at, k.updated_at),
                    k.id,
                )
            })
            .await
    }
}

impl Fetched for ApiKey {
    fn version(&self) -> i64 {
        self.version
    }

    async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        sqlx::query_as!(
            ApiKey,
            "select id, name, permissions, created_by, rate_limit_per_minute, expires_at,
                 revoked_at, last_used_at, version, created_at, updated_at
             from auth.api_keys where id = $1",
            id
        )
        .fetch_optional(conn)
        .await
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    key: &NewApiKey,
    hash: &str,
    permissions: &[String],
    created_by: &str,
) -> Result<ApiKey, sqlx::Error> {
    sqlx::query_as!(
        ApiKey,
        "insert into auth.api_keys (id, name, key_hash, permissions, created_by,
             rate_limit_per_minute, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         returning id, name, permissions, created_by, rate_limit_per_minute, expires_at,
             revoked_at, last_used_at, version, created_at, updated_at",
        id,
        key.name,
        hash,
        permissions,
        created_by,
        key.rate_limit_per_minute,
        key.expires_at,
    )
    .fetch_one(conn)
    .await
}

/// Revokes the key. None when there is no such key, Some(false) when it
/// was revoked already (nothing changes then: no new version).
pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> Result<Option<bool>, sqlx::Error> {
    let live = sqlx::query_scalar!(
        r#"select revoked_at is null as "live!" from auth.api_keys where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if live == Some(true) {
        sqlx::query!(
            "update auth.api_keys set revoked_at = now(), updated_at = now(), version = version + 1
             where id = $1",
            id
        )
        .execute(conn)
        .await?;
    }
    Ok(live)
}

/// What an exchange checks a presented key against.
pub struct Live {
    pub key_hash: String,
    pub permissions: Vec<String>,
    pub rate_limit_per_minute: Option<i32>,
}

/// The key if it is neither revoked nor expired.
pub async fn live(conn: &mut PgConnection, id: Uuid) -> Result<Option<Live>, sqlx::Error> {
    sqlx::query_as!(
        Live,
        "select key_hash, permissions, rate_limit_per_minute from auth.api_keys
         where id = $1 and revoked_at is null and (expires_at is null or expires_at > now())",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn touch(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.api_keys set last_used_at = now() where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}
