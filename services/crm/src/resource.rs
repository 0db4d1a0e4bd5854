//! The operations every CRM resource shares (list, get, create, merge-patch,
//! delete), written once over the [`Resource`] trait. Each runs in one
//! tenant transaction that also holds its outbox event and idempotency record.

use std::future::Future;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match, etag};
use psa_http::extract::from_value;
use psa_http::idempotency::{self, IdempotencyKey, Lookup, StoredResponse};
use psa_http::pagination::{self, Cursor, Page};
use psa_http::{FieldError, Problem, merge_patch};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::CrmError;
use crate::events::{self, Lifecycle};
use crate::state::CrmState;

const IDEMPOTENCY_TABLE: &str = "crm.idempotency_keys";

/// A sortable field and the SQL type its cursor value is cast to.
#[derive(Debug, Clone, Copy)]
pub struct SortField {
    pub name: &'static str,
    pub sql_type: &'static str,
}

pub trait Resource: Serialize + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static {
    type Input: DeserializeOwned + Serialize + Send + Sync + for<'a> From<&'a Self>;
    const TABLE: &'static str;
    const PATH: &'static str;
    const READ: &'static str;
    const WRITE: &'static str;
    const EVENTS: Lifecycle;
    const SORTS: &'static [SortField];
    const DEFAULT_SORT: &'static str;

    fn id(&self) -> Uuid;
    fn version(&self) -> i64;
    fn validate(input: &Self::Input) -> Result<(), Vec<FieldError>>;
    /// Inserts (`existing` is None) or updates the row, checking what needs the database.
    fn write(
        conn: &mut PgConnection,
        id: Uuid,
        input: &Self::Input,
        existing: Option<&Self>,
    ) -> impl Future<Output = Result<Self, CrmError>> + Send;
    /// Refuses a delete that would break an invariant (409).
    fn before_delete(
        _conn: &mut PgConnection,
        _row: &Self,
    ) -> impl Future<Output = Result<(), CrmError>> + Send {
        async { Ok(()) }
    }
}

fn ok_response<R: Resource>(status: StatusCode, row: &R) -> Response {
    let mut res = (status, axum::Json(row)).into_response();
    res.headers_mut().insert(header::ETAG, etag(row.version()));
    res
}

pub async fn fetch<R: Resource>(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<R>, CrmError> {
    let sql = format!(
        "select * from {} where id = $1{}",
        R::TABLE,
        if lock { " for update" } else { "" }
    );
    Ok(sqlx::query_as::<_, R>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn get<R: Resource>(
    state: &CrmState,
    caller: &Caller,
    id: Uuid,
) -> Result<Response, CrmError> {
    caller.require(R::READ)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let row = fetch::<R>(&mut tx, id, false)
        .await?
        .ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    Ok(ok_response(StatusCode::OK, &row))
}

pub async fn create<R: Resource>(
    state: &CrmState,
    caller: &Caller,
    headers: &HeaderMap,
    body: serde_json::Value,
) -> Result<Response, CrmError> {
    caller.require(R::WRITE)?;
    let tenant = caller.tenant()?;
    let key = IdempotencyKey::from_request(headers, "POST", R::PATH, &body)?;
    let input: R::Input = from_value(body)?;
    R::validate(&input).map_err(CrmError::Validation)?;

    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    if let Some(key) = &key
        && let Lookup::Replay(res) = idempotency::lookup(&mut tx, IDEMPOTENCY_TABLE, key).await?
    {
        return Ok(res);
    }
    let id = Uuid::now_v7();
    let row = R::write(&mut tx, id, &input, None).await?;
    events::record(&mut tx, R::EVENTS.created, id, &row).await?;
    let location = format!("{}/{}", R::PATH, id);
    let stored = StoredResponse {
        status: StatusCode::CREATED,
        headers: idempotency::created_headers(&location, row.version()),
        body: serde_json::to_value(&row).map_err(|e| Problem::internal(&e))?,
    };
    if let Some(key) = &key {
        idempotency::store(&mut tx, IDEMPOTENCY_TABLE, key, &stored).await?;
    }
    tx.commit().await?;
    Ok(stored.into_response())
}

pub async fn patch<R: Resource>(
    state: &CrmState,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
    patch: serde_json::Value,
) -> Result<Response, CrmError> {
    caller.require(R::WRITE)?;
    let precondition = IfMatch::from_headers(headers)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let current = fetch::<R>(&mut tx, id, true)
        .await?
        .ok_or(CrmError::NotFound)?;
    check_if_match(precondition.as_ref(), current.version())?;

    let before =
        serde_json::to_value(R::Input::from(&current)).map_err(|e| Problem::internal(&e))?;
    let mut merged = before.clone();
    merge_patch::apply(&mut merged, &patch);
    let input: R::Input = from_value(merged)?;
    R::validate(&input).map_err(CrmError::Validation)?;
    if serde_json::to_value(&input).ok().as_ref() == Some(&before) {
        // Nothing changed: no new version, no event.
        tx.commit().await?;
        return Ok(ok_response(StatusCode::OK, &current));
    }
    let row = R::write(&mut tx, id, &input, Some(&current)).await?;
    events::record(&mut tx, R::EVENTS.updated, id, &row).await?;
    tx.commit().await?;
    Ok(ok_response(StatusCode::OK, &row))
}

pub async fn delete<R: Resource>(
    state: &CrmState,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
) -> Result<Response, CrmError> {
    caller.require(R::WRITE)?;
    let precondition = IfMatch::from_headers(headers)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let current = fetch::<R>(&mut tx, id, true)
        .await?
        .ok_or(CrmError::NotFound)?;
    check_if_match(precondition.as_ref(), current.version())?;
    R::before_delete(&mut tx, &current).await?;
    sqlx::query(AssertSqlSafe(format!(
        "delete from {} where id = $1",
        R::TABLE
    )))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    events::record(&mut tx, R::EVENTS.deleted, id, &current).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Paging parameters every list takes. Parsed by hand so that each bad value
/// gets its own 400 message.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 200, default 50.
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// A field name, `-field` for descending.
    pub sort: Option<String>,
    /// Only rows changed at or after this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<String>,
}

/// Lists rows of `R` with the common paging and the resource's own filters.
pub async fn list<R: Resource>(
    state: &CrmState,
    caller: &Caller,
    page: &PageParams,
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<axum::Json<Page<R>>, CrmError> {
    caller.require(R::READ)?;
    let limit = pagination::limit(
        page.limit
            .as_deref()
            .map(|l| {
                l.parse::<i64>()
                    .map_err(|_| Problem::bad_request("limit must be an integer"))
            })
            .transpose()?,
    )?;
    let names: Vec<&str> = R::SORTS.iter().map(|s| s.name).collect();
    let sort = pagination::sort(page.sort.as_deref(), &names, R::DEFAULT_SORT)?;
    let field = R::SORTS
        .iter()
        .find(|s| s.name == sort.field)
        .ok_or_else(|| Problem::bad_request("unknown sort field"))?;
    let cursor = page.cursor.as_deref().map(Cursor::decode).transpose()?;
    let updated_since = page
        .updated_since
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| Problem::bad_request("updated_since must be an RFC 3339 time"))
        })
        .transpose()?;

    let mut qb = QueryBuilder::<Postgres>::new(format!("select * from {} where true", R::TABLE));
    if let Some(since) = updated_since {
        qb.push(" and updated_at >= ").push_bind(since);
    }
    filters(&mut qb);
    let (op, dir) = if sort.descending {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    if let Some(c) = cursor {
        if c.s != field.name {
            return Err(Problem::bad_request("the cursor belongs to another sort order").into());
        }
        if field.name != "id" {
            // The value must cast to the column's type; a forged one is the client's error.
            validate_cursor_value(field.sql_type, &c.v)?;
        }
        qb.push(format!(" and ({}, id) {op} (", field.name))
            .push_bind(c.v)
            .push(format!("::{}, ", field.sql_type))
            .push_bind(c.id)
            .push(")");
    }
    qb.push(format!(" order by {} {dir}, id {dir} limit ", field.name))
        .push_bind(limit + 1);

    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let rows: Vec<R> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(axum::Json(Page::from_rows(
        rows,
        limit,
        field.name,
        |row| {
            let v = serde_json::to_value(row).ok();
            let value = v
                .as_ref()
                .and_then(|v| v.get(field.name))
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default();
            (value, row.id())
        },
    )))
}

fn validate_cursor_value(sql_type: &str, v: &str) -> Result<(), Problem> {
    let ok = match sql_type {
        "timestamptz" => DateTime::parse_from_rfc3339(v).is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::bad_request("invalid cursor"))
    }
}

/// Checks that a referenced customer exists in the caller's tenant.
pub async fn require_customer(conn: &mut PgConnection, customer_id: Uuid) -> Result<(), CrmError> {
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from crm.customers where id = $1)")
            .bind(customer_id)
            .fetch_one(conn)
            .await?;
    if exists {
        Ok(())
    } else {
        Err(CrmError::invalid("customer_id", "no such customer"))
    }
}
