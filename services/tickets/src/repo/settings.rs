//! `tickets.settings`: one row per tenant, made on first use.

use sqlx::PgConnection;

use crate::domain::settings::{TicketSettings, TicketSettingsInput};
use crate::domain::ticket::Priority;

async fn ensure(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("insert into tickets.settings default values on conflict do nothing")
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn get(conn: &mut PgConnection) -> Result<TicketSettings, sqlx::Error> {
    ensure(conn).await?;
    sqlx::query_as!(
        TicketSettings,
        r#"select open_tickets_for_asset_eol, asset_eol_priority as "asset_eol_priority: Priority",
             asset_eol_queue, version, updated_at
           from tickets.settings"#
    )
    .fetch_one(conn)
    .await
}

pub async fn lock(conn: &mut PgConnection) -> Result<TicketSettings, sqlx::Error> {
    ensure(conn).await?;
    sqlx::query_as!(
        TicketSettings,
        r#"select open_tickets_for_asset_eol, asset_eol_priority as "asset_eol_priority: Priority",
             asset_eol_queue, version, updated_at
           from tickets.settings for update"#
    )
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    i: &TicketSettingsInput,
) -> Result<TicketSettings, sqlx::Error> {
    sqlx::query_as!(
        TicketSettings,
        r#"update tickets.settings set open_tickets_for_asset_eol = $1, asset_eol_priority = $2,
             asset_eol_queue = $3, version = version + 1, updated_at = now()
           returning open_tickets_for_asset_eol, asset_eol_priority as "asset_eol_priority: Priority",
             asset_eol_queue, version, updated_at"#,
        i.open_tickets_for_asset_eol,
        i.asset_eol_priority as _,
        i.asset_eol_queue,
    )
    .fetch_one(conn)
    .await
}
