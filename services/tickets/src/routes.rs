//! Tickets, comments and time entries over HTTP.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use psa_authn::Caller;
use psa_events::catalog as ev;
use psa_http::conditional::{IfMatch, check_if_match, etag};
use psa_http::extract::{Json, JsonValue, PathId, Query, from_value};
use psa_http::idempotency::{self, IdempotencyKey, Lookup, StoredResponse};
use psa_http::pagination::{self, Cursor, Page};
use psa_http::problem::ProblemBody;
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, Problem, merge_patch};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::TicketsState;
use crate::domain::ticket::{NewTicket, Priority, Status, Ticket, TicketPatch};
use crate::service::{self, due_times, emit};

const IDEMPOTENCY: &str = "tickets.idempotency_keys";

fn with_etag(status: StatusCode, t: &Ticket) -> Response {
    let mut res = (status, axum::Json(t)).into_response();
    res.headers_mut().insert(header::ETAG, etag(t.version));
    res
}

async fn fetch(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Ticket, Problem> {
    let sql = if lock {
        "select * from tickets.tickets where id = $1 for update"
    } else {
        "select * from tickets.tickets where id = $1"
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(Problem::not_found)
}

#[utoipa::path(post, path = "/v1/tickets", tag = "tickets", request_body = NewTicket,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Ticket), (status = 422, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["tickets:write"])))]
pub async fn create_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, Problem> {
    caller.require("tickets:write")?;
    let key = IdempotencyKey::from_request(&headers, "POST", "/v1/tickets", &body)?;
    let input: NewTicket = from_value(body)?;
    input.validate().map_err(Problem::validation)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    if let Some(k) = &key
        && let Lookup::Replay(res) = idempotency::lookup(&mut tx, IDEMPOTENCY, k).await?
    {
        return Ok(res);
    }
    let known: bool = sqlx::query_scalar(
        "select exists(select 1 from tickets.customers where id = $1 and not deleted)",
    )
    .bind(input.customer_id)
    .fetch_one(&mut *tx)
    .await?;
    if !known {
        return Err(Problem::validation(vec![FieldError::new(
            "customer_id",
            "no such customer",
        )]));
    }
    let n: i64 = sqlx::query_scalar(
        "insert into tickets.number_sequences (name, last_value) values ('ticket', 1)
         on conflict (tenant_id, name) do update set last_value = tickets.number_sequences.last_value + 1 returning last_value",
    )
    .fetch_one(&mut *tx)
    .await?;
    let now = Utc::now();
    let terms = service::terms_for_customer(&mut tx, input.customer_id).await?;
    let (response_due, resolution_due) = terms
        .as_ref()
        .map(|t| due_times(t, input.priority, now))
        .unwrap_or((None, None));
    let id = Uuid::now_v7();
    let ticket: Ticket = sqlx::query_as(
        "insert into tickets.tickets (id, number, title, description, type, priority, status, queue, assignee_id, customer_id,
           contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, 'new', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) returning *",
    )
    .bind(id)
    .bind(format!("T-{n:06}"))
    .bind(input.title.trim())
    .bind(&input.description)
    .bind(input.ticket_type)
    .bind(input.priority)
    .bind(&input.queue)
    .bind(&input.assignee_id)
    .bind(input.customer_id)
    .bind(input.contact_id)
    .bind(input.asset_id)
    .bind(&input.tags)
    .bind(terms.as_ref().map(|t| t.contract_id))
    .bind(response_due)
    .bind(resolution_due)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    emit(&mut tx, ev::TICKET_CREATED, &ticket).await?;
    let location = format!("/v1/tickets/{id}");
    let stored = StoredResponse {
        status: StatusCode::CREATED,
        headers: idempotency::created_headers(&location, ticket.version),
        body: serde_json::to_value(&ticket).map_err(|e| Problem::internal(&e))?,
    };
    if let Some(k) = &key {
        idempotency::store(&mut tx, IDEMPOTENCY, k, &stored).await?;
    }
    tx.commit().await?;
    Ok(stored.into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilters {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub customer_id: Option<Uuid>,
    pub assignee_id: Option<String>,
    pub queue: Option<String>,
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<DateTime<Utc>>,
    /// `created_at` (default), `updated_at`, `-created_at`, `-updated_at`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/tickets", tag = "tickets", params(TicketFilters),
    responses((status = 200, body = Page<Ticket>)), security(("bearer" = ["tickets:read"])))]
pub async fn list_tickets(
    State(state): State<TicketsState>,
    caller: Caller,
    Query(f): Query<TicketFilters>,
) -> Result<axum::Json<Page<Ticket>>, Problem> {
    caller.require("tickets:read")?;
    let limit = pagination::limit(f.limit)?;
    let sort = pagination::sort(
        f.sort.as_deref(),
        &["created_at", "updated_at"],
        "created_at",
    )?;
    let cursor = f.cursor.as_deref().map(Cursor::decode).transpose()?;
    let mut qb = QueryBuilder::<Postgres>::new("select * from tickets.tickets where true");
    if let Some(s) = f.status {
        qb.push(" and status = ").push_bind(s);
    }
    if let Some(p) = f.priority {
        qb.push(" and priority = ").push_bind(p);
    }
    if let Some(c) = f.customer_id {
        qb.push(" and customer_id = ").push_bind(c);
    }
    if let Some(a) = f.assignee_id {
        qb.push(" and assignee_id = ").push_bind(a);
    }
    if let Some(q) = f.queue {
        qb.push(" and queue = ").push_bind(q);
    }
    if let Some(u) = f.updated_since {
        qb.push(" and updated_at >= ").push_bind(u);
    }
    let (op, dir) = if sort.descending {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    if let Some(c) = cursor {
        let at = DateTime::parse_from_rfc3339(&c.v)
            .map_err(|_| Problem::bad_request("invalid cursor"))?;
        if c.s != sort.field {
            return Err(Problem::bad_request(
                "the cursor belongs to another sort order",
            ));
        }
        qb.push(format!(" and ({}, id) {op} (", sort.field))
            .push_bind(at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(format!(" order by {} {dir}, id {dir} limit ", sort.field))
        .push_bind(limit + 1);
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let rows: Vec<Ticket> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let field = sort.field;
    Ok(axum::Json(Page::from_rows(rows, limit, field, |t| {
        let at = if field == "updated_at" {
            t.updated_at
        } else {
            t.created_at
        };
        (
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            t.id,
        )
    })))
}

#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["tickets:read"])))]
pub async fn get_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, Problem> {
    caller.require("tickets:read")?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let t = fetch(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &t))
}

#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    request_body(content = serde_json::Value, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Ticket), (status = 409, description = "illegal status transition"), (status = 412)),
    security(("bearer" = ["tickets:write"])))]
pub async fn patch_ticket(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, Problem> {
    caller.require("tickets:write")?;
    let precondition = IfMatch::from_headers(&headers)?;
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object"));
    }
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let current = fetch(&mut tx, id, true).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let mut merged =
        serde_json::to_value(TicketPatch::from(&current)).map_err(|e| Problem::internal(&e))?;
    merge_patch::apply(&mut merged, &patch);
    let next: TicketPatch = from_value(merged)?;
    next.validate().map_err(Problem::validation)?;
    if !current.status.can_become(next.status) {
        let allowed: Vec<&str> = current
            .status
            .allowed_next()
            .iter()
            .map(|s| s.as_str())
            .collect();
        return Err(Problem::conflict(format!(
            "a {} ticket cannot become {}; allowed: {}",
            current.status.as_str(),
            next.status.as_str(),
            allowed.join(", ")
        )));
    }
    let now = Utc::now();
    let (mut response_due, mut resolution_due) =
        (current.response_due_at, current.resolution_due_at);
    let terms = match current.contract_id {
        Some(c) => service::terms_of_contract(&mut tx, c).await?,
        None => None,
    };
    if next.priority != current.priority
        && let Some(t) = &terms
    {
        let (r, s) = due_times(t, next.priority, current.created_at);
        (response_due, resolution_due) = (r, s);
    }
    let waiting_since: Option<DateTime<Utc>> =
        sqlx::query_scalar("select waiting_since from tickets.tickets where id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let mut new_waiting_since = waiting_since;
    if next.status == Status::Waiting && current.status != Status::Waiting {
        new_waiting_since = Some(now);
    }
    if current.status == Status::Waiting && next.status != Status::Waiting {
        // The clocks stood still while waiting: move the due times by the business time paused.
        if let (Some(since), Some(t)) = (waiting_since, &terms) {
            let paused = t.calendar.between(since, now);
            response_due = response_due.map(|d| t.calendar.add(d, paused));
            resolution_due = resolution_due.map(|d| t.calendar.add(d, paused));
        }
        new_waiting_since = None;
    }
    let resolved_at = match next.status {
        Status::Resolved | Status::Closed => current.resolved_at.or(Some(now)),
        _ => None,
    };
    let updated: Ticket = sqlx::query_as(
        "update tickets.tickets set title = $2, description = $3, type = $4, priority = $5, status = $6, queue = $7,
           assignee_id = $8, contact_id = $9, asset_id = $10, tags = $11, response_due_at = $12, resolution_due_at = $13,
           waiting_since = $14, resolved_at = $15, version = version + 1, updated_at = now()
         where id = $1 returning *",
    )
    .bind(id)
    .bind(next.title.trim())
    .bind(&next.description)
    .bind(next.ticket_type)
    .bind(next.priority)
    .bind(next.status)
    .bind(&next.queue)
    .bind(&next.assignee_id)
    .bind(next.contact_id)
    .bind(next.asset_id)
    .bind(&next.tags)
    .bind(response_due)
    .bind(resolution_due)
    .bind(new_waiting_since)
    .bind(resolved_at)
    .fetch_one(&mut *tx)
    .await?;
    emit(&mut tx, ev::TICKET_UPDATED, &updated).await?;
    if updated.status != current.status {
        emit(&mut tx, ev::TICKET_STATUS_CHANGED, &updated).await?;
    }
    if updated.assignee_id != current.assignee_id {
        emit(&mut tx, ev::TICKET_ASSIGNED, &updated).await?;
    }
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &updated))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author: String,
    /// The first public comment is the ticket's first response.
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    #[schema(max_length = 100000, pattern = "\\S")]
    pub body: String,
    #[serde(default = "internal")]
    pub visibility: Visibility,
}

/// Who sees a comment: staff only, or the customer too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Visibility {
    Internal,
    Public,
}

fn internal() -> Visibility {
    Visibility::Internal
}

#[utoipa::path(post, path = "/v1/tickets/{id}/comments", tag = "tickets", params(("id" = Uuid, Path)), request_body = NewComment,
    responses((status = 201, body = Comment), (status = 404)), security(("bearer" = ["tickets:write"])))]
pub async fn add_comment(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
    Json(body): Json<NewComment>,
) -> Result<Response, Problem> {
    caller.require("tickets:write")?;
    if body.body.trim().is_empty() || body.body.chars().count() > 100_000 {
        return Err(Problem::invalid_field("body", "1 to 100000 characters"));
    }
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let ticket = fetch(&mut tx, id, true).await?;
    let comment: Comment = sqlx::query_as(
        "insert into tickets.comments (id, ticket_id, author, visibility, body) values ($1, $2, $3, $4, $5) returning *",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(&caller.subject)
    .bind(body.visibility)
    .bind(body.body.trim())
    .fetch_one(&mut *tx)
    .await?;
    let mut ticket = ticket;
    if body.visibility == Visibility::Public && ticket.first_response_at.is_none() {
        ticket = sqlx::query_as(
            "update tickets.tickets set first_response_at = $2, version = version + 1, updated_at = now() where id = $1 returning *",
        )
        .bind(id)
        .bind(comment.created_at)
        .fetch_one(&mut *tx)
        .await?;
        emit(&mut tx, ev::TICKET_UPDATED, &ticket).await?;
    }
    psa_events::outbox::enqueue(
        &mut tx,
        service::SCHEMA,
        ev::TICKET_COMMENT_ADDED,
        id,
        &serde_json::json!({"ticket": ticket, "comment": comment}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(comment)).into_response())
}

#[utoipa::path(get, path = "/v1/tickets/{id}/comments", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Page<Comment>), (status = 404)), security(("bearer" = ["tickets:read"])))]
pub async fn list_comments(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<axum::Json<Page<Comment>>, Problem> {
    caller.require("tickets:read")?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    fetch(&mut tx, id, false).await?;
    let rows: Vec<Comment> =
        sqlx::query_as("select * from tickets.comments where ticket_id = $1 order by id limit 500")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(axum::Json(Page {
        data: rows,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TimeEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub user_id: String,
    pub started_at: DateTime<Utc>,
    pub minutes: i32,
    pub description: Option<String>,
    pub billable: bool,
    pub work_type: Option<String>,
    /// Set by billing; a billed entry cannot change.
    pub billed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryInput {
    pub started_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i32,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub billable: bool,
    #[schema(max_length = 100, pattern = "\\S")]
    pub work_type: Option<String>,
}

impl TimeEntryInput {
    fn validate(&self) -> Result<(), Problem> {
        let mut e = FieldErrors::default();
        if !(1..=1440).contains(&self.minutes) {
            e.add("minutes", "1 to 1440");
        }
        if self
            .description
            .as_deref()
            .is_some_and(|d| d.chars().count() > 10_000)
        {
            e.add("description", "must be at most 10000 characters");
        }
        e.opt_text("work_type", self.work_type.as_deref(), 100);
        e.finish().map_err(Problem::validation)
    }
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/v1/tickets/{id}/time-entries", tag = "time", params(("id" = Uuid, Path)), request_body = TimeEntryInput,
    responses((status = 201, body = TimeEntry), (status = 404)), security(("bearer" = ["time:write"])))]
pub async fn log_time(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
    Json(body): Json<TimeEntryInput>,
) -> Result<Response, Problem> {
    caller.require("time:write")?;
    body.validate()?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    fetch(&mut tx, id, false).await?;
    let entry: TimeEntry = sqlx::query_as(
        "insert into tickets.time_entries (id, ticket_id, user_id, started_at, minutes, description, billable, work_type)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning *",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(&caller.subject)
    .bind(body.started_at)
    .bind(body.minutes)
    .bind(&body.description)
    .bind(body.billable)
    .bind(&body.work_type)
    .fetch_one(&mut *tx)
    .await?;
    psa_events::outbox::enqueue(
        &mut tx,
        service::SCHEMA,
        ev::TIME_ENTRY_LOGGED,
        entry.id,
        &entry,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(entry)).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeFilters {
    pub ticket_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub billable: Option<bool>,
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

async fn time_page(
    state: &TicketsState,
    caller: &Caller,
    f: TimeFilters,
) -> Result<Page<TimeEntry>, Problem> {
    caller.require("tickets:read")?;
    let limit = pagination::limit(f.limit)?;
    let after = f
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()?
        .map(|c| c.id);
    let mut qb = QueryBuilder::<Postgres>::new("select * from tickets.time_entries where true");
    if let Some(t) = f.ticket_id {
        qb.push(" and ticket_id = ").push_bind(t);
    }
    if let Some(u) = f.user_id {
        qb.push(" and user_id = ").push_bind(u);
    }
    if let Some(b) = f.billable {
        qb.push(" and billable = ").push_bind(b);
    }
    if let Some(u) = f.updated_since {
        qb.push(" and updated_at >= ").push_bind(u);
    }
    if let Some(a) = after {
        qb.push(" and id > ").push_bind(a);
    }
    qb.push(" order by id limit ").push_bind(limit + 1);
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let rows: Vec<TimeEntry> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, limit, "id", |e| {
        (String::new(), e.id)
    }))
}

#[utoipa::path(get, path = "/v1/tickets/{id}/time-entries", tag = "time", params(("id" = Uuid, Path)),
    responses((status = 200, body = Page<TimeEntry>)), security(("bearer" = ["tickets:read"])))]
pub async fn ticket_time(
    State(state): State<TicketsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<axum::Json<Page<TimeEntry>>, Problem> {
    time_page(
        &state,
        &caller,
        TimeFilters {
            ticket_id: Some(id),
            limit: Some(200),
            ..Default::default()
        },
    )
    .await
    .map(axum::Json)
}

#[utoipa::path(get, path = "/v1/time-entries", tag = "time", params(TimeFilters),
    responses((status = 200, body = Page<TimeEntry>)), security(("bearer" = ["tickets:read"])))]
pub async fn list_time(
    State(state): State<TicketsState>,
    caller: Caller,
    Query(f): Query<TimeFilters>,
) -> Result<axum::Json<Page<TimeEntry>>, Problem> {
    time_page(&state, &caller, f).await.map(axum::Json)
}

#[utoipa::path(patch, path = "/v1/time-entries/{id}", tag = "time", params(("id" = Uuid, Path)),
    request_body(content = serde_json::Value, content_type = "application/merge-patch+json"),
    responses((status = 200, body = TimeEntry), (status = 409, description = "already billed")), security(("bearer" = ["time:write"])))]
pub async fn patch_time(
    State(state): State<TicketsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, Problem> {
    caller.require("time:write")?;
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    let current: TimeEntry =
        sqlx::query_as("select * from tickets.time_entries where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(Problem::not_found)?;
    check_if_match(precondition.as_ref(), current.version)?;
    if current.billed_at.is_some() {
        return Err(Problem::conflict(
            "the time entry is billed and can no longer change",
        ));
    }
    let mut merged = serde_json::to_value(TimeEntryInput {
        started_at: current.started_at,
        minutes: current.minutes,
        description: current.description.clone(),
        billable: current.billable,
        work_type: current.work_type.clone(),
    })
    .map_err(|e| Problem::internal(&e))?;
    merge_patch::apply(&mut merged, &patch);
    let next: TimeEntryInput = from_value(merged)?;
    next.validate()?;
    let updated: TimeEntry = sqlx::query_as(
        "update tickets.time_entries set started_at = $2, minutes = $3, description = $4, billable = $5, work_type = $6,
           version = version + 1, updated_at = now() where id = $1 returning *",
    )
    .bind(id)
    .bind(next.started_at)
    .bind(next.minutes)
    .bind(&next.description)
    .bind(next.billable)
    .bind(&next.work_type)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut res = axum::Json(&updated).into_response();
    res.headers_mut()
        .insert(header::ETAG, etag(updated.version));
    Ok(res)
}
