//! Tickets in `tickets.tickets`.

use chrono::{DateTime, Utc};
use psa_kernel::{IdList, Keyset, Page, PageParams, SortField, SortValue, SqlType, Tx};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::sla::{Clocks, DueTimes};
use crate::domain::ticket::{NewTicket, Priority, Status, Ticket, TicketPatch, TicketType};
use crate::events::BreachKind;

/// What a ticket list may be sorted by.
pub const SORTS: &[SortField] = &[
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::unique("number", SqlType::Text),
];

/// A ticket's value of one of [`SORTS`].
pub fn sort_value(t: &Ticket, field: &str) -> SortValue {
    match field {
        "updated_at" => SortValue::Time(t.updated_at),
        "number" => SortValue::Text(t.number.clone()),
        _ => SortValue::Time(t.created_at),
    }
}

pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Option<Ticket>, sqlx::Error> {
    sqlx::query_as!(
        Ticket,
        r#"select id, number, title, description, type as "ticket_type: TicketType",
             priority as "priority: Priority", status as "status: Status", queue, assignee_id,
             customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
             first_response_at, resolved_at, version, created_at, updated_at
           from tickets.tickets where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The ticket, locked until the transaction ends (writes that depend on
/// what it holds now).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Ticket>, sqlx::Error> {
    sqlx::query_as!(
        Ticket,
        r#"select id, number, title, description, type as "ticket_type: TicketType",
             priority as "priority: Priority", status as "status: Status", queue, assignee_id,
             customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
             first_response_at, resolved_at, version, created_at, updated_at
           from tickets.tickets where id = $1 for update"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Since when the ticket waits, if it does (kept out of the resource).
pub async fn waiting_since(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "select waiting_since from tickets.tickets where id = $1",
        id
    )
    .fetch_one(conn)
    .await
}

/// The tenant's next ticket number (1, 2, …): unique and increasing, drawn
/// without waiting for the tenant's other open tickets (a number whose
/// ticket is not committed is skipped).
pub async fn next_number(tx: &Tx) -> Result<i64, sqlx::Error> {
    tx.next_number("ticket").await
}

/// A new ticket's row beside what the caller sent.
pub struct Opened<'a> {
    pub id: Uuid,
    pub number: String,
    pub input: &'a NewTicket,
    pub contract_id: Option<Uuid>,
    pub due: DueTimes,
    pub at: DateTime<Utc>,
}

pub async fn insert(conn: &mut PgConnection, t: &Opened<'_>) -> Result<Ticket, sqlx::Error> {
    let i = t.input;
    sqlx::query_as!(
        Ticket,
        r#"insert into tickets.tickets (id, number, title, description, type, priority, status, queue,
             assignee_id, customer_id, contact_id, asset_id, tags, contract_id, response_due_at,
             resolution_due_at, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, 'new', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
           returning id, number, title, description, type as "ticket_type: TicketType",
             priority as "priority: Priority", status as "status: Status", queue, assignee_id,
             customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
             first_response_at, resolved_at, version, created_at, updated_at"#,
        t.id,
        t.number,
        i.title.trim(),
        i.description,
        i.ticket_type as _,
        i.priority as _,
        i.queue,
        i.assignee_id,
        i.customer_id,
        i.contact_id,
        i.asset_id,
        &i.tags,
        t.contract_id,
        t.due.response,
        t.due.resolution,
        t.at,
    )
    .fetch_one(conn)
    .await
}

/// Writes the changed fields and clocks as the next version.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    next: &TicketPatch,
    clocks: &Clocks,
) -> Result<Ticket, sqlx::Error> {
    sqlx::query_as!(
        Ticket,
        r#"update tickets.tickets set title = $2, description = $3, type = $4, priority = $5,
             status = $6, queue = $7, assignee_id = $8, contact_id = $9, asset_id = $10, tags = $11,
             response_due_at = $12, resolution_due_at = $13, waiting_since = $14, resolved_at = $15,
             version = version + 1, updated_at = now()
           where id = $1
           returning id, number, title, description, type as "ticket_type: TicketType",
             priority as "priority: Priority", status as "status: Status", queue, assignee_id,
             customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
             first_response_at, resolved_at, version, created_at, updated_at"#,
        id,
        next.title.trim(),
        next.description,
        next.ticket_type as _,
        next.priority as _,
        next.status as _,
        next.queue,
        next.assignee_id,
        next.contact_id,
        next.asset_id,
        &next.tags,
        clocks.due.response,
        clocks.due.resolution,
        clocks.waiting_since,
        clocks.resolved_at,
    )
    .fetch_one(conn)
    .await
}

/// Stops the response clock: the ticket's first public answer.
pub async fn set_first_response(
    conn: &mut PgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Ticket, sqlx::Error> {
    sqlx::query_as!(
        Ticket,
        r#"update tickets.tickets set first_response_at = $2, version = version + 1, updated_at = now()
           where id = $1
           returning id, number, title, description, type as "ticket_type: TicketType",
             priority as "priority: Priority", status as "status: Status", queue, assignee_id,
             customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
             first_response_at, resolved_at, version, created_at, updated_at"#,
        id,
        at
    )
    .fetch_one(conn)
    .await
}

/// What the ticket list filters by (all optional, combined with `and`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilters {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub customer_id: Option<IdList>,
    pub contact_id: Option<IdList>,
    pub asset_id: Option<IdList>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 200>")]
    #[param(schema_with = psa_http::formats::line::<200>)]
    pub assignee_id: Option<String>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 100>")]
    #[param(schema_with = psa_http::formats::line::<100>)]
    pub queue: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's, contact's or asset's tickets, for many of them at once.
psa_http::per_filters!(TicketFilters: customer_id, contact_id, asset_id);

/// The list's select with `f`'s filters: what [`list`] pages through (the
/// plan test explains it).
pub fn list_query(f: &TicketFilters) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, number, title, description, type, priority, status, queue, assignee_id,
           customer_id, contact_id, asset_id, tags, contract_id, response_due_at, resolution_due_at,
           first_response_at, resolved_at, version, created_at, updated_at
         from tickets.tickets where true",
    );
    if let Some(s) = f.status {
        qb.push(" and status = ").push_bind(s);
    }
    if let Some(p) = f.priority {
        qb.push(" and priority = ").push_bind(p);
    }
    if let Some(c) = &f.customer_id {
        c.push_filter(&mut qb, "customer_id");
    }
    if let Some(c) = &f.contact_id {
        c.push_filter(&mut qb, "contact_id");
    }
    if let Some(a) = &f.asset_id {
        a.push_filter(&mut qb, "asset_id");
    }
    if let Some(a) = &f.assignee_id {
        qb.push(" and assignee_id = ").push_bind(a.clone());
    }
    if let Some(q) = &f.queue {
        qb.push(" and queue = ").push_bind(q.clone());
    }
    qb
}

pub async fn list(
    conn: &mut PgConnection,
    f: &TicketFilters,
    keyset: &Keyset,
) -> Result<Page<Ticket>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(f), |t: &Ticket, field| {
            (sort_value(t, field), t.id)
        })
        .await
}

/// (tenant, ticket) of tickets past a due time not yet reported, across
/// tenants (through the schema's narrow `security definer` function).
pub async fn overdue(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from tickets.sla_overdue($1)"#,
        now
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.id)).collect())
}

/// Marks one clock of the ticket breached at `now` if it ran out and was
/// not reported yet; whether this call marked it (the conditional update
/// reports each breach once, however many watches run).
pub async fn mark_breached(
    conn: &mut PgConnection,
    id: Uuid,
    kind: BreachKind,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = match kind {
        BreachKind::Response => {
            sqlx::query!(
                "update tickets.tickets set response_breached_at = $2
                 where id = $1 and response_breached_at is null and first_response_at is null
                   and response_due_at < $2 and status not in ('waiting', 'resolved', 'closed')",
                id,
                now
            )
            .execute(conn)
            .await?
        }
        BreachKind::Resolution => {
            sqlx::query!(
                "update tickets.tickets set resolution_breached_at = $2
                 where id = $1 and resolution_breached_at is null
                   and resolution_due_at < $2 and status not in ('waiting', 'resolved', 'closed')",
                id,
                now
            )
            .execute(conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Opens the ticket an end-of-life notice asks for, once per (asset, kind,
/// threshold, date): None when the tenant does not want such tickets or
/// one was opened already. Runs in the consumer's tenant transaction,
/// whose commit also takes the ticket's number.
pub async fn open_for_eol(
    conn: &mut PgConnection,
    notice: &psa_assets::domain::watch::AssetEol,
) -> Result<Option<Ticket>, sqlx::Error> {
    let settings = super::settings::get(conn).await?;
    if !settings.open_tickets_for_asset_eol {
        return Ok(None);
    }
    let id = Uuid::now_v7();
    let claimed = sqlx::query!(
        "insert into tickets.asset_eol_tickets (asset_id, kind, threshold, due_date, ticket_id)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
        notice.asset.id,
        notice.kind.as_str(),
        notice.threshold_days,
        notice.due_date,
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok(None);
    }
    let input = crate::domain::settings::eol_ticket(notice, &settings);
    let number: i64 = sqlx::query_scalar!(
        r#"select tickets.next_number(tickets.current_tenant(), 'ticket') as "n!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    let at = Utc::now();
    let terms = super::projection::terms_for_customer(conn, input.customer_id).await?;
    let opened = Opened {
        id,
        number: crate::domain::ticket::number(number),
        input: &input,
        contract_id: terms.as_ref().map(|t| t.contract_id),
        due: terms
            .as_ref()
            .map(|t| t.due_times(input.priority, at))
            .unwrap_or_default(),
        at,
    };
    insert(conn, &opened).await.map(Some)
}
