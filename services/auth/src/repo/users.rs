//! `auth.users`: the user record, its password and sign-in counters, and
//! its second factor's columns.

use chrono::{DateTime, Utc};
use psa_kernel::{Keyset, Page, SortField, SortValue, SqlType};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Fetched;
use crate::domain::user::{NewUser, User, UserInput, UserStatus};

pub const SORTS: &[SortField] = &[
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::ID,
    SortField::unique("email", SqlType::Text),
    SortField::new("name", SqlType::Text),
];

fn sort_value(u: &User, field: &str) -> SortValue {
    match field {
        "email" => SortValue::Text(u.email.clone()),
        _ => super::by_name(field, u.id, &u.name, u.created_at, u.updated_at),
    }
}

/// The user list's select, of one status or all: what [`page`] pages
/// through (the plan test explains it).
pub fn list_query(status: Option<UserStatus>) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(
        "select id, email, name, status, roles, totp_confirmed as mfa_enabled, version, \
         created_at, updated_at from auth.users where true",
    );
    if let Some(status) = status {
        qb.push(" and status = ").push_bind(status);
    }
    qb
}

pub async fn page(
    conn: &mut PgConnection,
    status: Option<UserStatus>,
    keyset: &Keyset,
) -> Result<Page<User>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(status), |u: &User, f| {
            (sort_value(u, f), u.id)
        })
        .await
}

impl Fetched for User {
    fn version(&self) -> i64 {
        self.version
    }

    async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        sqlx::query_as!(
            User,
            r#"select id, email, name, status as "status: UserStatus", roles,
                   totp_confirmed as mfa_enabled, version, created_at, updated_at
               from auth.users where id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// Like [`Fetched::get`], locking the row until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"select id, email, name, status as "status: UserStatus", roles,
               totp_confirmed as mfa_enabled, version, created_at, updated_at
           from auth.users where id = $1 for update"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    user: &NewUser,
    password_hash: Option<String>,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"insert into auth.users (id, email, name, status, roles, password_hash)
           values ($1, $2, $3, 'active', $4, $5)
           returning id, email, name, status as "status: UserStatus", roles,
               totp_confirmed as mfa_enabled, version, created_at, updated_at"#,
        id,
        user.email,
        user.name,
        &user.roles,
        password_hash,
    )
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    input: &UserInput,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"update auth.users set name = $2, status = $3, roles = $4,
               version = version + 1, updated_at = now()
           where id = $1
           returning id, email, name, status as "status: UserStatus", roles,
               totp_confirmed as mfa_enabled, version, created_at, updated_at"#,
        id,
        input.name,
        input.status as _,
        &input.roles,
    )
    .fetch_one(conn)
    .await
}

/// Sets the password and lifts any sign-in delay; false when there is no such user.
pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update auth.users set password_hash = $2, failed_logins = 0, next_login_at = null,
             version = version + 1, updated_at = now()
         where id = $1",
        id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The password hash (None: no password set), locking the row; None when no such user.
pub async fn lock_password(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar!(
        "select password_hash from auth.users where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await
}

/// (status, roles), for the permissions a token gets.
pub async fn standing(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(UserStatus, Vec<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select status as "status: UserStatus", roles from auth.users where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.status, r.roles)))
}

/// What a sign-in checks, the row locked so concurrent attempts count.
pub struct SignIn {
    pub id: Uuid,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub failed_logins: i32,
    pub next_login_at: Option<DateTime<Utc>>,
    pub mfa_enabled: bool,
}

pub async fn lock_sign_in(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<SignIn>, sqlx::Error> {
    sqlx::query_as!(
        SignIn,
        r#"select id, status as "status: UserStatus", password_hash, failed_logins,
               next_login_at, totp_confirmed as mfa_enabled
           from auth.users where email = $1 for update"#,
        email
    )
    .fetch_optional(conn)
    .await
}

pub async fn record_failure(
    conn: &mut PgConnection,
    id: Uuid,
    failures: i32,
    next_login_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set failed_logins = $2, next_login_at = $3 where id = $1",
        id,
        failures,
        next_login_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_failures(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set failed_logins = 0, next_login_at = null where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The second factor's columns.
pub struct Totp {
    /// Sealed with the master key.
    pub secret_enc: Option<Vec<u8>>,
    pub last_step: Option<i64>,
    pub confirmed: bool,
}

/// The second factor, locking the row (a code is accepted once).
pub async fn lock_totp(conn: &mut PgConnection, id: Uuid) -> Result<Option<Totp>, sqlx::Error> {
    sqlx::query_as!(
        Totp,
        r#"select totp_secret_enc as secret_enc, totp_last_step as last_step,
               totp_confirmed as confirmed
           from auth.users where id = $1 for update"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// A pending enrolment: the secret is kept, sign-in needs it only once confirmed.
pub async fn begin_totp(
    conn: &mut PgConnection,
    id: Uuid,
    sealed: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set totp_secret_enc = $2, totp_last_step = null where id = $1",
        id,
        sealed
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn confirm_totp(conn: &mut PgConnection, id: Uuid, step: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set totp_confirmed = true, totp_last_step = $2,
             version = version + 1, updated_at = now()
         where id = $1",
        id,
        step
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the step a code was accepted for, so it is not accepted again.
pub async fn use_totp_step(
    conn: &mut PgConnection,
    id: Uuid,
    step: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set totp_last_step = $2 where id = $1",
        id,
        step
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Turns the second factor off; false when there is no such user.
pub async fn reset_totp(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update auth.users set totp_secret_enc = null, totp_confirmed = false,
             totp_last_step = null, version = version + 1, updated_at = now()
         where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Users keep a renamed role under its new name.
pub async fn rename_role(conn: &mut PgConnection, from: &str, to: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update auth.users set roles = array_replace(roles, $1, $2) where $1 = any(roles)",
        from,
        to
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count_with_role(conn: &mut PgConnection, role: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from auth.users where $1 = any(roles)"#,
        role
    )
    .fetch_one(conn)
    .await
}
