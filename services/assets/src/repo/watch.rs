//! The watch's SQL: items with a date near enough to report, and the
//! record of what was reported.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::watch::PAST_WINDOW_DAYS;
use crate::domain::{Asset, License};

/// Every tenant the watch serves (those that have used the module).
pub async fn tenants(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(r#"select tenant_id as "tenant_id!" from assets.watched_tenants()"#)
        .fetch_all(pool)
        .await
}

/// The tenant's assets with a warranty end or end of life from
/// [`PAST_WINDOW_DAYS`] ago to `horizon` days ahead of `today`.
pub async fn assets_due(
    conn: &mut PgConnection,
    today: NaiveDate,
    horizon: i32,
) -> Result<Vec<Asset>, sqlx::Error> {
    let from = today - chrono::Days::new(PAST_WINDOW_DAYS as u64);
    let to = today + chrono::Days::new(u64::try_from(horizon).unwrap_or(0));
    let sql = format!(
        "select {} from assets.assets
         where status <> 'retired'
           and (warranty_end between $1 and $2 or eol_date between $1 and $2)
         order by id",
        super::assets::COLUMNS
    );
    sqlx::query_as::<_, Asset>(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await
}

/// The tenant's licenses expiring in the same window.
pub async fn licenses_due(
    conn: &mut PgConnection,
    today: NaiveDate,
    horizon: i32,
) -> Result<Vec<License>, sqlx::Error> {
    use psa_kernel::Resource;
    let from = today - chrono::Days::new(PAST_WINDOW_DAYS as u64);
    let to = today + chrono::Days::new(u64::try_from(horizon).unwrap_or(0));
    let sql = format!(
        "select {} from assets.licenses where expiry_date between $1 and $2 order by id",
        License::COLUMNS
    );
    sqlx::query_as::<_, License>(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await
}

/// Records a report of (item, kind, threshold, date): false when it was
/// reported before.
pub async fn note(
    conn: &mut PgConnection,
    item: Uuid,
    kind: &str,
    threshold: i32,
    due: NaiveDate,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "insert into assets.watch_notices (item_id, kind, threshold, due_date) values ($1, $2, $3, $4)
         on conflict do nothing",
        item,
        kind,
        threshold,
        due
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
