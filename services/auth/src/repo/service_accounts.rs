//! `auth.service_accounts` and their `auth.client_secrets` (hashes; several
//! live at once during a rotation's overlap).

use chrono::{DateTime, Utc};
use psa_kernel::{Keyset, Page, SortField};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{Fetched, Listed};
use crate::domain::service_account::{AccountStatus, ServiceAccount};

impl Listed for ServiceAccount {
    const SORTS: &'static [SortField] = super::BY_NAME;

    fn list_query() -> QueryBuilder<Postgres> {
        QueryBuilder::new(
            "select id, name, client_id, permissions, status, version, created_at, updated_at \
             from auth.service_accounts where true",
        )
    }

    async fn page(conn: &mut PgConnection, keyset: &Keyset) -> Result<Page<Self>, sqlx::Error> {
        keyset
            .fetch(conn, Self::list_query(), |a: &ServiceAccount, f| {
                let value = super::by_name(f, a.id, &a.name, a.created_at, a.updated_at);
                (value, a.id)
            })
            .await
    }
}

impl Fetched for ServiceAccount {
    fn version(&self) -> i64 {
        self.version
    }

    async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        sqlx::query_as!(
            ServiceAccount,
            r#"select id, name, client_id, permissions, status as "status: AccountStatus",
                   version, created_at, updated_at
               from auth.service_accounts where id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// The account, locked until the transaction ends (rotations queue up).
pub async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ServiceAccount>, sqlx::Error> {
    sqlx::query_as!(
        ServiceAccount,
        r#"select id, name, client_id, permissions, status as "status: AccountStatus", version,
               created_at, updated_at
           from auth.service_accounts where id = $1 for update"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    client_id: &str,
    permissions: &[String],
) -> Result<ServiceAccount, sqlx::Error> {
    sqlx::query_as!(
        ServiceAccount,
        r#"insert into auth.service_accounts (id, name, client_id, permissions, status)
           values ($1, $2, $3, $4, 'active')
           returning id, name, client_id, permissions, status as "status: AccountStatus",
               version, created_at, updated_at"#,
        id,
        name,
        client_id,
        permissions,
    )
    .fetch_one(conn)
    .await
}

/// Deletes the account and its secrets; false when there is no such account.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from auth.service_accounts where id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// What a client-credentials request is checked against.
pub struct Client {
    pub id: Uuid,
    pub permissions: Vec<String>,
    pub status: AccountStatus,
}

pub async fn by_client_id(
    conn: &mut PgConnection,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        Client,
        r#"select id, permissions, status as "status: AccountStatus"
           from auth.service_accounts where client_id = $1"#,
        client_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn add_secret(
    conn: &mut PgConnection,
    account: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into auth.client_secrets (id, service_account_id, secret_hash) values ($1, $2, $3)",
        Uuid::now_v7(),
        account,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every secret of the account stops working at `until` at the latest.
pub async fn expire_secrets(
    conn: &mut PgConnection,
    account: Uuid,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.client_secrets set expires_at = least(coalesce(expires_at, $2), $2)
         where service_account_id = $1",
        account,
        until
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The hashes of the secrets that work now.
pub async fn live_secrets(
    conn: &mut PgConnection,
    account: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select secret_hash from auth.client_secrets
         where service_account_id = $1 and (expires_at is null or expires_at > now())",
        account
    )
    .fetch_all(conn)
    .await
}
