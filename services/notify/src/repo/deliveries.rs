//! `notify.deliveries` and `notify.attempts`: the dispatcher's work queue,
//! the delivery log and the dead letters.

use chrono::{DateTime, Utc};
use psa_events::CloudEvent;
use psa_kernel::{Keyset, Page, PageParams, SortField, SortValue};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::delivery::EventBody;
use crate::domain::webhook::matches;
use crate::domain::{Attempt, AttemptOutcome, DeadLetter};

/// The body of `event` as every attempt delivers it.
pub fn body_of(event: &CloudEvent) -> String {
    serde_json::to_string(&EventBody {
        event_type: event.event_type.clone(),
        timestamp: event.time,
        data: event.data.clone(),
    })
    .unwrap_or_else(|_| "{}".into())
}

/// One delivery of `event` per enabled subscription of the transaction's
/// tenant whose patterns match it (once: a second fan-out of the same
/// event adds nothing). Returns the deliveries added.
pub async fn fan_out(conn: &mut PgConnection, event: &CloudEvent) -> Result<u64, sqlx::Error> {
    let subscribed = sqlx::query!("select id, event_types from notify.webhooks where enabled")
        .fetch_all(&mut *conn)
        .await?;
    let mut added = 0;
    for w in subscribed
        .into_iter()
        .filter(|w| matches(&w.event_types, &event.event_type))
    {
        added += enqueue(conn, w.id, event, false).await?.is_some() as u64;
    }
    Ok(added)
}

/// A delivery of `event` to `webhook` (None if it has one already). A
/// `leased` one is the caller's to attempt at once.
pub async fn enqueue(
    conn: &mut PgConnection,
    webhook: Uuid,
    event: &CloudEvent,
    leased: bool,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into notify.deliveries (id, webhook_id, event_id, event_type, body, event_time, leased_until)
         values ($1, $2, $3, $4, $5, $6, case when $7 then now() + interval '5 minutes' end)
         on conflict (tenant_id, webhook_id, event_id) do nothing
         returning id",
        Uuid::now_v7(),
        webhook,
        event.id,
        event.event_type,
        body_of(event),
        event.time,
        leased
    )
    .fetch_optional(conn)
    .await
}

/// A delivery some dispatcher leased.
#[derive(Debug, Clone, Copy)]
pub struct Claimed {
    pub tenant: Uuid,
    pub id: Uuid,
}

/// Takes up to `batch` due deliveries of every tenant, at most
/// `per_endpoint` in flight per subscription, leased for `lease`.
pub async fn claim(
    pool: &PgPool,
    batch: i32,
    per_endpoint: i32,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease = sqlx::postgres::types::PgInterval::try_from(lease).map_err(sqlx::Error::Encode)?;
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from notify.claim_deliveries($1, $2, $3)"#,
        batch,
        per_endpoint,
        lease
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            tenant: r.tenant_id,
            id: r.id,
        })
        .collect())
}

/// When the next pending delivery falls due.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!("select notify.next_due()")
        .fetch_one(pool)
        .await
}

/// A pending delivery with what its attempt needs.
#[derive(Debug)]
pub struct Due {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub body: String,
    pub round_attempts: i32,
    pub replays: i32,
    pub url: String,
    pub enabled: bool,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
}

pub async fn due(conn: &mut PgConnection, id: Uuid) -> Result<Option<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"select d.id, d.webhook_id, d.event_id, d.event_type, d.body, d.round_attempts, d.replays,
                  w.url, w.enabled, w.secret,
                  case when w.previous_until > now() then w.previous_secret end as previous_secret
           from notify.deliveries d join notify.webhooks w on w.id = d.webhook_id
           where d.id = $1 and d.state = 'pending'"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// One attempt as the dispatcher made it.
#[derive(Debug)]
pub struct AttemptRecord<'a> {
    pub delivery: &'a Due,
    pub outcome: AttemptOutcome,
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    pub response_body: Option<String>,
    pub at: DateTime<Utc>,
}

/// Where the delivery goes after an attempt.
#[derive(Debug, Clone, Copy)]
pub enum After {
    Delivered,
    Retry(DateTime<Utc>),
    Dead,
}

/// Records the attempt and moves the delivery on (releasing its lease).
pub async fn record(
    conn: &mut PgConnection,
    a: &AttemptRecord<'_>,
    after: After,
) -> Result<(), sqlx::Error> {
    let d = a.delivery;
    sqlx::query!(
        "insert into notify.attempts (id, delivery_id, webhook_id, event_id, event_type, outcome,
             status_code, duration_ms, error, response_body, replay, attempted_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        Uuid::now_v7(),
        d.id,
        d.webhook_id,
        d.event_id,
        d.event_type,
        a.outcome as AttemptOutcome,
        a.status_code,
        a.duration_ms,
        a.error.as_deref(),
        a.response_body.as_deref(),
        d.replays > 0,
        a.at
    )
    .execute(&mut *conn)
    .await?;
    let (state, next) = match after {
        After::Delivered => ("delivered", None),
        After::Retry(at) => ("pending", Some(at)),
        After::Dead => ("dead", None),
    };
    sqlx::query!(
        "update notify.deliveries set state = $2, round_attempts = round_attempts + 1,
             attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at),
             leased_until = null, last_status = $4, last_error = $5, updated_at = now(),
             finished_at = case when $2 = 'pending' then null else now() end
         where id = $1",
        d.id,
        state,
        next,
        a.status_code,
        a.error.as_deref()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a leased delivery back unattempted (its subscription was disabled meanwhile).
pub async fn release(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notify.deliveries set leased_until = null where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends a dead letter again: a new round of attempts, due now. None for
/// a delivery the tenant does not have; Some(false) for one that is not dead.
pub async fn replay(conn: &mut PgConnection, id: Uuid) -> Result<Option<bool>, sqlx::Error> {
    let state = sqlx::query_scalar!(
        "select state from notify.deliveries where id = $1 for update",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match state.as_deref() {
        None => Ok(None),
        Some("dead") => {
            sqlx::query!(
                "update notify.deliveries set state = 'pending', round_attempts = 0, replays = replays + 1,
                     next_attempt_at = now(), finished_at = null, updated_at = now()
                 where id = $1",
                id
            )
            .execute(conn)
            .await?;
            Ok(Some(true))
        }
        Some(_) => Ok(Some(false)),
    }
}

/// Sends again every dead letter of `webhook` whose event was delivered
/// first between `since` and `until`; returns how many.
pub async fn recover(
    conn: &mut PgConnection,
    webhook: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "update notify.deliveries set state = 'pending', round_attempts = 0, replays = replays + 1,
             next_attempt_at = now(), finished_at = null, updated_at = now()
         where webhook_id = $1 and state = 'dead' and created_at >= $2 and created_at < $3",
        webhook,
        since,
        until
    )
    .execute(conn)
    .await?
    .rows_affected())
}

const DEAD_LETTER_SELECT: &str =
    "select d.id, d.webhook_id, w.url, d.event_id, d.event_type, d.body,
        d.attempts as attempt_count, d.last_status as last_status_code, d.last_error, d.created_at,
        d.finished_at as dead_since, d.finished_at as updated_at
    from notify.deliveries d join notify.webhooks w on w.id = d.webhook_id
    where d.state = 'dead'";

#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    id: Uuid,
    webhook_id: Uuid,
    url: String,
    event_id: Uuid,
    event_type: String,
    body: String,
    attempt_count: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    dead_since: DateTime<Utc>,
}

impl From<DeadLetterRow> for DeadLetter {
    fn from(r: DeadLetterRow) -> Self {
        let event = serde_json::from_str(&r.body).unwrap_or(EventBody {
            event_type: r.event_type.clone(),
            timestamp: r.created_at,
            data: serde_json::Value::Null,
        });
        DeadLetter {
            id: r.id,
            webhook_id: r.webhook_id,
            url: r.url,
            event_id: r.event_id,
            event_type: r.event_type,
            event,
            attempt_count: r.attempt_count,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            created_at: r.created_at,
            dead_since: r.dead_since,
            attempts: Vec::new(),
        }
    }
}

pub const DEAD_LETTER_SORTS: &[SortField] = &[SortField::new(
    "dead_since",
    psa_kernel::SqlType::Timestamptz,
)];

/// What the dead-letter list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterFilters {
    pub webhook_id: Option<Uuid>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 100>")]
    #[param(schema_with = psa_http::formats::line::<100>)]
    pub event_type: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

pub async fn dead_letters(
    conn: &mut PgConnection,
    f: &DeadLetterFilters,
    keyset: &Keyset,
) -> Result<Page<DeadLetter>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "select id, webhook_id, url, event_id, event_type, body, attempt_count, last_status_code,
                last_error, created_at, dead_since
         from ({DEAD_LETTER_SELECT}) as dead where true"
    ));
    if let Some(w) = f.webhook_id {
        qb.push(" and webhook_id = ").push_bind(w);
    }
    if let Some(t) = &f.event_type {
        qb.push(" and event_type = ").push_bind(t.clone());
    }
    let page = keyset
        .fetch(conn, qb, |r: &DeadLetterRow, _| {
            (SortValue::Time(r.dead_since), r.id)
        })
        .await?;
    Ok(Page {
        data: page.data.into_iter().map(DeadLetter::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One dead letter with every attempt of its delivery.
pub async fn dead_letter(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<DeadLetter>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(DEAD_LETTER_SELECT);
    qb.push(" and d.id = ").push_bind(id);
    let Some(row) = qb
        .build_query_as::<DeadLetterRow>()
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut letter = DeadLetter::from(row);
    letter.attempts = sqlx::query_as!(
        Attempt,
        r#"select id, delivery_id, webhook_id, event_id, event_type, outcome as "outcome: AttemptOutcome",
                  status_code, duration_ms, error, response_body, replay, attempted_at
           from notify.attempts where delivery_id = $1 order by attempted_at, id"#,
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(letter))
}

pub const ATTEMPT_SORTS: &[SortField] = &[SortField::new(
    "attempted_at",
    psa_kernel::SqlType::Timestamptz,
)];

/// What the delivery log filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptFilters {
    /// `delivered`, `failed` (an answer other than 2xx) or `error` (no answer).
    pub status: Option<AttemptOutcome>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 100>")]
    #[param(schema_with = psa_http::formats::line::<100>)]
    pub event_type: Option<String>,
    pub event_id: Option<Uuid>,
    /// Attempts at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Attempts before this time.
    pub until: Option<DateTime<Utc>>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

/// One page of a subscription's attempts (newest last; `sort=-attempted_at` for newest first).
pub async fn attempts(
    conn: &mut PgConnection,
    webhook: Uuid,
    f: &AttemptFilters,
    keyset: &Keyset,
) -> Result<Page<Attempt>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, delivery_id, webhook_id, event_id, event_type, outcome, status_code, duration_ms,
                error, response_body, replay, attempted_at
         from (select id, delivery_id, webhook_id, event_id, event_type, outcome, status_code, duration_ms,
                     error, response_body, replay, attempted_at, attempted_at as updated_at
               from notify.attempts) as log
         where webhook_id = ",
    );
    qb.push_bind(webhook);
    if let Some(s) = f.status {
        qb.push(" and outcome = ").push_bind(s);
    }
    if let Some(t) = &f.event_type {
        qb.push(" and event_type = ").push_bind(t.clone());
    }
    if let Some(e) = f.event_id {
        qb.push(" and event_id = ").push_bind(e);
    }
    if let Some(s) = f.since {
        qb.push(" and attempted_at >= ").push_bind(s);
    }
    if let Some(u) = f.until {
        qb.push(" and attempted_at < ").push_bind(u);
    }
    keyset
        .fetch(conn, qb, |a: &Attempt, _| {
            (SortValue::Time(a.attempted_at), a.id)
        })
        .await
}
