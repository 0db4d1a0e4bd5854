//! `auth.recovery_codes`: a user's single-use second-factor codes, as hashes.

use sqlx::PgConnection;
use uuid::Uuid;

/// Replaces the user's codes with these (argon2 hashes).
pub async fn replace(
    conn: &mut PgConnection,
    user: Uuid,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    delete_all(&mut *conn, user).await?;
    sqlx::query!(
        "insert into auth.recovery_codes (user_id, code_hash) select $1, unnest($2::text[])",
        user,
        hashes
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_all(conn: &mut PgConnection, user: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from auth.recovery_codes where user_id = $1", user)
        .execute(conn)
        .await?;
    Ok(())
}

/// The hashes of the codes not used yet.
pub async fn unused(conn: &mut PgConnection, user: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select code_hash from auth.recovery_codes where user_id = $1 and used_at is null",
        user
    )
    .fetch_all(conn)
    .await
}

pub async fn spend(conn: &mut PgConnection, user: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.recovery_codes set used_at = now() where user_id = $1 and code_hash = $2",
        user,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}
