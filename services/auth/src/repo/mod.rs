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

use psa_kernel::{Keyset, Page, SortValue};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// One page of a list: `qb` holds the list's select and filters; the
/// keyset adds the cursor's position, the order and the limit. `key` gives
/// a row's value of the sort field and its id (for the next cursor).
async fn page<T>(
    conn: &mut PgConnection,
    mut qb: QueryBuilder<Postgres>,
    keyset: &Keyset,
    key: impl Fn(&T, &str) -> (SortValue, Uuid),
) -> Result<Page<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    keyset.push(&mut qb);
    let rows: Vec<T> = qb.build_query_as().fetch_all(conn).await?;
    Ok(keyset.page(rows, key))
}
