//! `notify.preferences`: one row per user who set any.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::Preferences;

pub async fn get(conn: &mut PgConnection, user: Uuid) -> Result<Preferences, sqlx::Error> {
    let row = sqlx::query!(
        "select muted_event_types, version, updated_at from notify.preferences where user_id = $1",
        user
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Preferences {
            muted_event_types: r.muted_event_types,
            version: r.version,
            updated_at: Some(r.updated_at),
        },
        None => Preferences {
            muted_event_types: Vec::new(),
            version: 0,
            updated_at: None,
        },
    })
}

pub async fn put(
    conn: &mut PgConnection,
    user: Uuid,
    muted: &[String],
) -> Result<Preferences, sqlx::Error> {
    let r = sqlx::query!(
        "insert into notify.preferences (user_id, muted_event_types) values ($1, $2)
         on conflict (tenant_id, user_id) do update set muted_event_types = excluded.muted_event_types,
             version = preferences.version + 1, updated_at = now()
         returning muted_event_types, version, updated_at",
        user,
        muted
    )
    .fetch_one(conn)
    .await?;
    Ok(Preferences {
        muted_event_types: r.muted_event_types,
        version: r.version,
        updated_at: Some(r.updated_at),
    })
}
