//! Generic CRUD for resources that are plain records: list, get, create,
//! merge-patch and (for [`Deletable`] ones) delete, each in one tenant
//! transaction that also holds its outbox events and idempotency record.
//! Handlers stay plain functions in the module's `routes/` that call these.

use std::future::Future;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_events::catalog::EventType;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::keyset::{Keyset, PageParams, PerFilters, SortField, SortValue};
use psa_http::pagination::Page;
use psa_http::{FieldError, Problem, merge_patch};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::idempotency::Idempotency;
use crate::respond::with_etag;
use crate::tx::{Store, Tx};

/// A record kind the kernel can serve. `TABLE` and `COLUMNS` are constants
/// of the module (never input), so they may be written into SQL.
pub trait Resource: Serialize + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static {
    /// The writable fields: what POST takes and what a merge patch applies to.
    type Input: DeserializeOwned + Serialize + Send + Sync + for<'a> From<&'a Self>;
    /// The module's error type.
    type Error: From<Problem> + From<sqlx::Error> + IntoResponse + Send;
    /// Schema-qualified table, e.g. `crm.customers`.
    const TABLE: &'static str;
    /// The columns the row type reads, in order.
    const COLUMNS: &'static str;
    /// The collection's path, e.g. `/v1/customers`.
    const PATH: &'static str;
    const READ: &'static str;
    const WRITE: &'static str;
    const CREATED: EventType<Self>;
    const UPDATED: EventType<Self>;
    const SORTS: &'static [SortField];
    const DEFAULT_SORT: SortField;

    fn id(&self) -> Uuid;
    fn version(&self) -> i64;
    /// The row's value of one of `SORTS`.
    fn sort_value(&self, field: &str) -> SortValue;
    fn validate(input: &Self::Input) -> Result<(), Vec<FieldError>>;
    /// Inserts (`existing` is None) or updates the row, checking what needs the database.
    fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &Self::Input,
        existing: Option<&Self>,
    ) -> impl Future<Output = Result<Self, Self::Error>> + Send;
    /// Work every transaction on `Self` does first (e.g. making a tenant's
    /// defaults on its first use).
    fn prepare(_tx: &mut Tx) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
    /// Events beyond `CREATED`/`UPDATED` a change implies (e.g. a status change).
    fn after_write(
        _tx: &mut Tx,
        _before: Option<&Self>,
        _after: &Self,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
}

/// A resource that may be deleted.
pub trait Deletable: Resource {
    const DELETED: EventType<Self>;
    /// Refuses a delete that would break an invariant (409), or records
    /// what goes with the row.
    fn before_delete(
        _tx: &mut Tx,
        _row: &Self,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
}

/// The sorts of a record list by time or by its name column: `created_at`,
/// `updated_at` and `name` (a module whose name column is called otherwise
/// maps the field, e.g. `product`).
pub const BY_TIME_OR_NAME: [SortField; 3] = [
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::new("name", psa_http::keyset::SqlType::Text),
];

/// A row's value of one of [`BY_TIME_OR_NAME`] (or of the name column
/// under another field name): the name for anything but the two times.
pub fn time_or_name(
    field: &str,
    name: &str,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
) -> SortValue {
    match field {
        "created_at" => SortValue::Time(created_at),
        "updated_at" => SortValue::Time(updated_at),
        _ => SortValue::Text(name.to_owned()),
    }
}

/// One row by id, optionally locked for update; None when absent (or another tenant's).
pub async fn fetch<R: Resource>(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<R>, sqlx::Error> {
    let sql = format!(
        "select {} from {} where id = $1{}",
        R::COLUMNS,
        R::TABLE,
        if lock { " for update" } else { "" }
    );
    sqlx::query_as::<_, R>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Like [`fetch`], 404 when absent.
pub async fn find<R: Resource>(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<R, Problem> {
    fetch::<R>(conn, id, lock)
        .await?
        .ok_or_else(Problem::not_found)
}

pub async fn get<R: Resource>(
    store: &Store,
    caller: &Caller,
    id: Uuid,
) -> Result<Response, R::Error> {
    let mut tx = Tx::begin(store, caller, R::READ).await?;
    R::prepare(&mut tx).await?;
    let row = find::<R>(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version()))
}

pub async fn create<R: Resource>(
    store: &Store,
    caller: &Caller,
    idem: &Idempotency,
    body: serde_json::Value,
) -> Result<Response, R::Error> {
    let tx = Tx::begin(store, caller, R::WRITE).await?;
    crate::post(tx, idem, body, async |tx, input: R::Input| {
        R::validate(&input).map_err(Problem::validation)?;
        R::prepare(tx).await?;
        let id = Uuid::now_v7();
        let row = R::write(tx, id, &input, None).await?;
        tx.emit(&R::CREATED, id, &row).await?;
        R::after_write(tx, None, &row).await?;
        let location = format!("{}/{}", R::PATH, id);
        Ok(crate::Stored::created(&location, &row, row.version())?)
    })
    .await
}

pub async fn patch<R: Resource>(
    store: &Store,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
    patch: serde_json::Value,
) -> Result<Response, R::Error> {
    let precondition = IfMatch::from_headers(headers)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    }
    let mut tx = Tx::begin(store, caller, R::WRITE).await?;
    R::prepare(&mut tx).await?;
    let current = find::<R>(&mut tx, id, true).await?;
    check_if_match(precondition.as_ref(), current.version())?;

    let before =
        serde_json::to_value(R::Input::from(&current)).map_err(|e| Problem::internal(&e))?;
    let input: R::Input = merge_patch::merged(&before, &patch)?;
    R::validate(&input).map_err(Problem::validation)?;
    if serde_json::to_value(&input).ok().as_ref() == Some(&before) {
        // Nothing changed: no new version, no event.
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version()));
    }
    let row = R::write(&mut tx, id, &input, Some(&current)).await?;
    tx.emit(&R::UPDATED, id, &row).await?;
    R::after_write(&mut tx, Some(&current), &row).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version()))
}

pub async fn delete<R: Deletable>(
    store: &Store,
    caller: &Caller,
    headers: &HeaderMap,
    id: Uuid,
) -> Result<Response, R::Error> {
    let precondition = IfMatch::from_headers(headers)?;
    let mut tx = Tx::begin(store, caller, R::WRITE).await?;
    let current = find::<R>(&mut tx, id, true).await?;
    check_if_match(precondition.as_ref(), current.version())?;
    R::before_delete(&mut tx, &current).await?;
    sqlx::query(AssertSqlSafe(format!(
        "delete from {} where id = $1",
        R::TABLE
    )))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.emit(&R::DELETED, id, &current).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One page of `R` with the common paging and the list's own filters
/// (`filters` appends ` and …` conditions with bound values).
pub async fn list<R: Resource>(
    store: &Store,
    caller: &Caller,
    params: &PageParams,
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<axum::Json<Page<R>>, R::Error> {
    list_per::<R, ()>(store, caller, params, &(), filters).await
}

/// [`list`] of a list that can be read per value of one of its `*_id`
/// filters (`per=customer_id`), which `per` names.
pub async fn list_per<R: Resource, F: PerFilters>(
    store: &Store,
    caller: &Caller,
    params: &PageParams,
    per: &F,
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<axum::Json<Page<R>>, R::Error> {
    let keyset = params.keyset_per(R::SORTS, R::DEFAULT_SORT, per)?;
    let mut tx = Tx::begin(store, caller, R::READ).await?;
    R::prepare(&mut tx).await?;
    let page = page_of::<R>(&mut tx, &keyset, filters).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// One page of the `R`s that belong to the `P` with id `parent` (a
/// customer's contacts): 404 when the caller's tenant has no such `P`, so
/// an unknown parent is not mistaken for an empty list. `filters` selects
/// the parent's rows (and any further conditions). Checked in the list's
/// own transaction, with `R`'s read permission.
pub async fn list_under<R: Resource, P: Resource>(
    store: &Store,
    caller: &Caller,
    parent: Uuid,
    params: &PageParams,
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<axum::Json<Page<R>>, R::Error> {
    let keyset = params.keyset(R::SORTS, R::DEFAULT_SORT)?;
    let mut tx = Tx::begin(store, caller, R::READ).await?;
    find::<P>(&mut tx, parent, false).await?;
    let page = page_of::<R>(&mut tx, &keyset, filters).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// The select of `R`s with the list's own `filters`: what [`list`] and
/// [`list_under`] page through (the plan test explains it).
pub fn list_query<R: Resource>(
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "select {} from {} where true",
        R::COLUMNS,
        R::TABLE
    ));
    filters(&mut qb);
    qb
}

async fn page_of<R: Resource>(
    conn: &mut PgConnection,
    keyset: &Keyset,
    filters: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<Page<R>, sqlx::Error> {
    keyset
        .fetch(conn, list_query::<R>(filters), |row: &R, field| {
            (row.sort_value(field), row.id())
        })
        .await
}
