//! The management API: tenants, users, roles, service accounts, API keys, audit events.

pub mod api_keys;
pub mod audit_events;
pub mod roles;
pub mod service_accounts;
pub mod tenants;
pub mod users;

use psa_authn::Caller;
use psa_http::pagination::{self, Cursor, Page};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::AuthError;
use crate::state::AuthState;

/// Checks the permission and opens the caller's tenant transaction.
pub async fn scoped(
    state: &AuthState,
    caller: &Caller,
    permission: &str,
) -> Result<(Uuid, Transaction<'static, Postgres>), AuthError> {
    caller.require(permission)?;
    let tenant = caller.tenant()?;
    Ok((tenant, psa_db::begin_tenant(&state.pool, tenant).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListParams {
    /// (limit, id to continue after)
    pub fn parse(&self) -> Result<(i64, Option<Uuid>), AuthError> {
        let limit = pagination::limit(self.limit)?;
        let after = self
            .cursor
            .as_deref()
            .map(Cursor::decode)
            .transpose()?
            .map(|c| c.id);
        Ok((limit, after))
    }
}

/// A page ordered by id (UUID v7: creation order).
pub fn page<T>(rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Page<T> {
    Page::from_rows(rows, limit, "id", |r| (String::new(), id(r)))
}

/// One page of a tenant table, by id (UUID v7: creation order). `columns`
/// and `table` are constants of the calling module, never input.
pub async fn list_by_id<T>(
    state: &AuthState,
    caller: &Caller,
    permission: &str,
    columns: &'static str,
    table: &'static str,
    q: &ListParams,
    id: impl Fn(&T) -> Uuid,
) -> Result<Page<T>, AuthError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let (limit, after) = q.parse()?;
    let (_, mut tx) = scoped(state, caller, permission).await?;
    let rows: Vec<T> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {columns} from {table} where ($1::uuid is null or id > $1) order by id limit $2"
    )))
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(page(rows, limit, id))
}

/// One row of a tenant table by id, 404 when absent (or another tenant's).
pub async fn get_by_id<T>(
    state: &AuthState,
    caller: &Caller,
    permission: &str,
    columns: &'static str,
    table: &'static str,
    id: Uuid,
) -> Result<T, AuthError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let (_, mut tx) = scoped(state, caller, permission).await?;
    let row: T = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {columns} from {table} where id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuthError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

/// Adds `Location` to a creation's response.
pub fn with_location(
    mut res: axum::response::Response,
    location: &str,
) -> axum::response::Response {
    if let Ok(v) = location.parse() {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    res
}

/// A response that shows a secret once must never be cached.
pub fn no_store(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

pub fn etagged<T: serde::Serialize>(
    status: axum::http::StatusCode,
    body: &T,
    version: i64,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        axum::http::header::ETAG,
        psa_http::conditional::etag(version),
    );
    res
}
