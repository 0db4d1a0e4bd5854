//! Auth's SQL, one file per resource: functions over a connection (a
//! tenant transaction, or the pool for the platform-level tables `tenants`
//! and `signing_keys`, which have no tenant).

pub mod api_keys;
pub mod audit;
pub mod oauth;
pub mod recovery_codes;
pub mod roles;
pub mod service_accounts;
pub mod signing_keys;
pub mod tenants;
pub mod users;

use std::future::Future;

use chrono::{DateTime, Utc};
use psa_kernel::{Keyset, Page, SortField, SortValue, SqlType};
use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// A record read by id, its version its `ETag`.
pub trait Fetched: Serialize + Sized + Send {
    fn version(&self) -> i64;
    /// None when absent (or another tenant's).
    fn get(
        conn: &mut PgConnection,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Self>, sqlx::Error>> + Send;
}

/// A record listed by keyset, in one of its `SORTS` (`created_at` unless asked).
pub trait Listed: Serialize + Sized + Send {
    const SORTS: &'static [SortField];
    /// The list's select: what `page` pages through (the plan test
    /// explains it).
    fn list_query() -> QueryBuilder<Postgres>;
    fn page(
        conn: &mut PgConnection,
        keyset: &Keyset,
    ) -> impl Future<Output = Result<Page<Self>, sqlx::Error>> + Send;
}

/// The sorts of a list of named records: creation (the default), last
/// change, id, name.
pub const BY_NAME: &[SortField] = &[
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::ID,
    SortField::new("name", SqlType::Text),
];

/// A row's value of one of [`BY_NAME`].
fn by_name(
    field: &str,
    id: Uuid,
    name: &str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) -> SortValue {
    match field {
        "updated_at" => SortValue::Time(updated_at),
        "id" => SortValue::Uuid(id),
        "name" => SortValue::Text(name.to_owned()),
        _ => SortValue::Time(created_at),
    }
}
