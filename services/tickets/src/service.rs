//! The ticket rules that need the database: SLA due times from the customer's
//! contract (local projection), pausing while waiting, breach detection, and
//! the projection of CRM customers and contracts.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::sla::{BusinessHoursDoc, Calendar};
use crate::domain::ticket::{Priority, Ticket};

pub const SCHEMA: &str = "tickets";

/// The contract in force for a customer and its calendar and targets.
pub struct Terms {
    pub contract_id: Uuid,
    pub calendar: Calendar,
    pub sla: Value,
}

fn calendar_of(business_hours: Option<Value>) -> Calendar {
    business_hours
        .and_then(|v| serde_json::from_value::<BusinessHoursDoc>(v).ok())
        .and_then(|d| Calendar::from_doc(&d))
        .unwrap_or_else(Calendar::always)
}

pub async fn terms_for_customer(
    conn: &mut PgConnection,
    customer: Uuid,
) -> Result<Option<Terms>, sqlx::Error> {
    let row: Option<(Uuid, Option<Value>, Option<Value>)> = sqlx::query_as(
        "select id, sla, business_hours from tickets.contracts
         where customer_id = $1 and not deleted and status = 'active' and sla is not null
           and start_date <= current_date and (end_date is null or end_date >= current_date)
         order by start_date desc, id desc limit 1",
    )
    .bind(customer)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(id, sla, bh)| {
        sla.map(|sla| Terms {
            contract_id: id,
            calendar: calendar_of(bh),
            sla,
        })
    }))
}

pub async fn terms_of_contract(
    conn: &mut PgConnection,
    contract: Uuid,
) -> Result<Option<Terms>, sqlx::Error> {
    let row: Option<(Option<Value>, Option<Value>)> =
        sqlx::query_as("select sla, business_hours from tickets.contracts where id = $1")
            .bind(contract)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(sla, bh)| {
        sla.map(|sla| Terms {
            contract_id: contract,
            calendar: calendar_of(bh),
            sla,
        })
    }))
}

/// (response due, resolution due) for a priority from `at`.
pub fn due_times(
    terms: &Terms,
    priority: Priority,
    at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let target = &terms.sla[priority.as_str()];
    let due = |key: &str| target[key].as_i64().map(|m| terms.calendar.add(at, m));
    (due("response_minutes"), due("resolution_minutes"))
}

pub async fn emit(
    conn: &mut PgConnection,
    event_type: &str,
    ticket: &Ticket,
) -> Result<(), sqlx::Error> {
    psa_events::outbox::enqueue(conn, SCHEMA, event_type, ticket.id, ticket)
        .await
        .map(|_| ())
}

/// Reports every SLA breach once: the conditional update is the guard.
pub async fn watch_sla_once(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let due: Vec<(Uuid, Uuid)> =
        sqlx::query_as("select tenant_id, id from tickets.sla_overdue($1)")
            .bind(now)
            .fetch_all(pool)
            .await?;
    let mut reported = 0;
    for (tenant, id) in due {
        let mut tx = psa_db::begin_tenant(pool, tenant).await?;
        for (kind, column, extra) in [
            (
                "response",
                "response_breached_at",
                "and first_response_at is null and response_due_at < $2",
            ),
            (
                "resolution",
                "resolution_breached_at",
                "and resolution_due_at < $2",
            ),
        ] {
            let breached: Option<Ticket> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "update tickets.tickets set {column} = $2 where id = $1 and {column} is null
                 and status not in ('waiting', 'resolved', 'closed') {extra}
                 returning *"
            )))
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(t) = breached {
                psa_events::outbox::enqueue(
                    &mut tx,
                    SCHEMA,
                    psa_events::catalog::TICKET_SLA_BREACHED,
                    t.id,
                    &json!({"kind": kind, "ticket": t}),
                )
                .await?;
                reported += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(reported)
}

/// Applies a CRM event to the projection; older versions than stored are ignored.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    let id = data["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or("event data without id")?;
    let version = data["version"]
        .as_i64()
        .ok_or("event data without version")?;
    let deleted = event_type.ends_with(".deleted");
    let result = if event_type.starts_with("customer.") {
        sqlx::query(
            "insert into tickets.customers (id, name, status, deleted, version) values ($1, $2, $3, $4, $5)
             on conflict (tenant_id, id) do update set name = excluded.name, status = excluded.status,
               deleted = excluded.deleted or tickets.customers.deleted, version = excluded.version
             where tickets.customers.version < excluded.version or excluded.deleted",
        )
        .bind(id)
        .bind(data["name"].as_str().unwrap_or(""))
        .bind(data["status"].as_str().unwrap_or("active"))
        .bind(deleted)
        .bind(version)
        .execute(conn)
        .await
    } else if event_type.starts_with("contract.") {
        let customer = data["customer_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or("contract without customer_id")?;
        let start = data["start_date"]
            .as_str()
            .and_then(|s| s.parse::<chrono::NaiveDate>().ok())
            .ok_or("contract without start_date")?;
        let end = data["end_date"]
            .as_str()
            .and_then(|s| s.parse::<chrono::NaiveDate>().ok());
        sqlx::query(
            "insert into tickets.contracts (id, customer_id, status, start_date, end_date, sla, business_hours, deleted, version)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (tenant_id, id) do update set customer_id = excluded.customer_id, status = excluded.status,
               start_date = excluded.start_date, end_date = excluded.end_date, sla = excluded.sla,
               business_hours = excluded.business_hours, deleted = excluded.deleted or tickets.contracts.deleted,
               version = excluded.version
             where tickets.contracts.version < excluded.version or excluded.deleted",
        )
        .bind(id)
        .bind(customer)
        .bind(data["status"].as_str().unwrap_or("draft"))
        .bind(start)
        .bind(end)
        .bind(data.get("sla").filter(|v| !v.is_null()))
        .bind(data.get("business_hours").filter(|v| !v.is_null()))
        .bind(deleted)
        .bind(version)
        .execute(conn)
        .await
    } else {
        return Ok(());
    };
    result.map(|_| ()).map_err(|e| e.to_string())
}
