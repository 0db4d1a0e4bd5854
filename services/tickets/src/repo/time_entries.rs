//! Time entries in `tickets.time_entries`.

use chrono::{DateTime, Utc};
use psa_kernel::{IdList, Keyset, Page, PageParams, SortField, SortValue};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::time_entry::{TimeEntry, TimeEntryInput};

/// What a time-entry list may be sorted by: booking order (the default) or
/// order of change.
pub const SORTS: &[SortField] = &[SortField::ID, SortField::UPDATED_AT];

/// An entry's value of one of [`SORTS`].
fn sort_value(e: &TimeEntry, field: &str) -> SortValue {
    match field {
        "updated_at" => SortValue::Time(e.updated_at),
        _ => SortValue::Uuid(e.id),
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    user_id: &str,
    input: &TimeEntryInput,
) -> Result<TimeEntry, sqlx::Error> {
    sqlx::query_as!(
        TimeEntry,
        "insert into tickets.time_entries (id, ticket_id, user_id, started_at, minutes, description,
           billable, work_type)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning id, ticket_id, user_id, started_at, minutes, description, billable, work_type,
           billed_at, version, created_at, updated_at",
        Uuid::now_v7(),
        ticket_id,
        user_id,
        input.started_at,
        input.minutes,
        input.description,
        input.billable,
        input.work_type,
    )
    .fetch_one(conn)
    .await
}

pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Option<TimeEntry>, sqlx::Error> {
    sqlx::query_as!(
        TimeEntry,
        "select id, ticket_id, user_id, started_at, minutes, description, billable, work_type,
           billed_at, version, created_at, updated_at
         from tickets.time_entries where id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The entry, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<TimeEntry>, sqlx::Error> {
    sqlx::query_as!(
        TimeEntry,
        "select id, ticket_id, user_id, started_at, minutes, description, billable, work_type,
           billed_at, version, created_at, updated_at
         from tickets.time_entries where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Writes the corrected fields as the next version.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    next: &TimeEntryInput,
) -> Result<TimeEntry, sqlx::Error> {
    sqlx::query_as!(
        TimeEntry,
        "update tickets.time_entries set started_at = $2, minutes = $3, description = $4,
           billable = $5, work_type = $6, version = version + 1, updated_at = now()
         where id = $1
         returning id, ticket_id, user_id, started_at, minutes, description, billable, work_type,
           billed_at, version, created_at, updated_at",
        id,
        next.started_at,
        next.minutes,
        next.description,
        next.billable,
        next.work_type,
    )
    .fetch_one(conn)
    .await
}

/// Takes billing's state of an entry (`billed_at`, as of billing's
/// `version`) unless a state as new was applied already. It is billing's
/// state, not a correction of the entry: the entry's `version` and
/// `updated_at` stay, and no `time_entry.updated` follows (billing, which
/// consumes those, would hear its own change back). Whether it applied;
/// an entry that is gone (deleted) is left alone.
pub async fn apply_billing_state(
    conn: &mut PgConnection,
    id: Uuid,
    billed_at: Option<DateTime<Utc>>,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let applied = sqlx::query!(
        "update tickets.time_entries set billed_at = $2, billing_version = $3
         where id = $1 and billing_version < $3",
        id,
        billed_at,
        version,
    )
    .execute(conn)
    .await?;
    Ok(applied.rows_affected() == 1)
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from tickets.time_entries where id = $1", id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// What the time-entry list filters by (all optional, combined with `and`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeEntryFilters {
    pub ticket_id: Option<IdList>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 200>")]
    #[param(schema_with = psa_http::formats::line::<200>)]
    pub user_id: Option<String>,
    pub billable: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// Tickets' time entries, for many tickets at once.
psa_http::per_filters!(TimeEntryFilters: ticket_id);

/// The time-entry select with `f`'s filters: what [`list`] pages through.
pub fn list_query(f: &TimeEntryFilters) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, ticket_id, user_id, started_at, minutes, description, billable, work_type,
           billed_at, version, created_at, updated_at
         from tickets.time_entries where true",
    );
    if let Some(t) = &f.ticket_id {
        t.push_filter(&mut qb, "ticket_id");
    }
    if let Some(u) = &f.user_id {
        qb.push(" and user_id = ").push_bind(u.clone());
    }
    if let Some(b) = f.billable {
        qb.push(" and billable = ").push_bind(b);
    }
    qb
}

/// One page of time entries in one of [`SORTS`].
pub async fn list(
    conn: &mut PgConnection,
    f: &TimeEntryFilters,
    keyset: &Keyset,
) -> Result<Page<TimeEntry>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(f), |e: &TimeEntry, field| {
            (sort_value(e, field), e.id)
        })
        .await
}
