//! `assets.settings`: one row per tenant, made with the tenant's default
//! asset types on its first use.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::asset_type::DEFAULT_TYPES;
use crate::domain::settings::{AssetSettings, AssetSettingsInput};

/// Makes the tenant's settings row and default asset types the first time.
pub async fn ensure(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let made = sqlx::query_scalar!(
        "insert into assets.settings default values on conflict do nothing returning tenant_id"
    )
    .fetch_optional(&mut *conn)
    .await?;
    if made.is_some() {
        let (keys, names): (Vec<&str>, Vec<&str>) = DEFAULT_TYPES.iter().copied().unzip();
        let ids: Vec<Uuid> = keys.iter().map(|_| Uuid::now_v7()).collect();
        sqlx::query!(
            "insert into assets.asset_types (id, key, name)
             select * from unnest($1::uuid[], $2::text[], $3::text[])
             on conflict do nothing",
            &ids,
            &keys as &[&str],
            &names as &[&str],
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn get(conn: &mut PgConnection) -> Result<AssetSettings, sqlx::Error> {
    ensure(conn).await?;
    sqlx::query_as!(
        AssetSettings,
        "select time_zone, watch_hour, thresholds, last_watch_date, version, updated_at
         from assets.settings"
    )
    .fetch_one(conn)
    .await
}

pub async fn lock(conn: &mut PgConnection) -> Result<AssetSettings, sqlx::Error> {
    ensure(conn).await?;
    sqlx::query_as!(
        AssetSettings,
        "select time_zone, watch_hour, thresholds, last_watch_date, version, updated_at
         from assets.settings for update"
    )
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    input: &AssetSettingsInput,
) -> Result<AssetSettings, sqlx::Error> {
    let mut thresholds = input.thresholds.clone();
    thresholds.sort_unstable_by(|a, b| b.cmp(a));
    sqlx::query_as!(
        AssetSettings,
        "update assets.settings set time_zone = $1, watch_hour = $2, thresholds = $3,
           version = version + 1, updated_at = now()
         returning time_zone, watch_hour, thresholds, last_watch_date, version, updated_at",
        input.time_zone,
        input.watch_hour,
        &thresholds,
    )
    .fetch_one(conn)
    .await
}

/// Claims the tenant's watch for `day` (its local date): false when it ran
/// that day already. The row stays locked until the run commits, so two
/// instances never run one tenant's day twice.
pub async fn claim_watch_day(
    conn: &mut PgConnection,
    day: chrono::NaiveDate,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "update assets.settings set last_watch_date = $1
         where last_watch_date is null or last_watch_date < $1",
        day
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
