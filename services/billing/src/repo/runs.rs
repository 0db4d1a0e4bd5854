//! Invoice runs and the customers each goes through.

use chrono::{DateTime, Utc};
use psa_kernel::{Keyset, Page, SortField, SortValue};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::run::{InvoiceRun, NewRun, Period, RunProblem, RunStatus};

/// Run lists: newest last (creation order), or in order of change.
pub const SORTS: &[SortField] = &[SortField::ID, SortField::UPDATED_AT];

/// Starts a run over `customers` (ordered; each billed once per run).
pub async fn insert(
    conn: &mut PgConnection,
    input: &NewRun,
    customers: &[Uuid],
    by: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "insert into billing.invoice_runs (id, period_from, period_to, customer_ids, status, created_by)
         values ($1, $2, $3, $4, 'running', $5)",
        id,
        input.period.from,
        input.period.to,
        input.customer_ids.as_deref(),
        by
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into billing.invoice_run_customers (run_id, customer_id)
         select $1, c from unnest($2::uuid[]) as c on conflict do nothing",
        id,
        customers
    )
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Option<InvoiceRun>, sqlx::Error> {
    let Some(r) = sqlx::query!(
        r#"select r.id, r.period_from, r.period_to, r.customer_ids, r.status as "status: RunStatus",
             r.created_by, r.finished_at, r.version, r.created_at, r.updated_at,
             (select count(*) from billing.invoice_run_customers c where c.run_id = r.id) as "total!",
             (select count(*) from billing.invoice_run_customers c
               where c.run_id = r.id and c.status <> 'pending') as "done!",
             (select coalesce(sum(invoices), 0) from billing.invoice_run_customers c
               where c.run_id = r.id)::bigint as "invoices!"
           from billing.invoice_runs r where r.id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let problems = sqlx::query_as!(
        RunProblem,
        r#"select customer_id, error as "message!" from billing.invoice_run_customers
           where run_id = $1 and error is not null order by customer_id limit 1000"#,
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(InvoiceRun {
        id: r.id,
        period: Period {
            from: r.period_from,
            to: r.period_to,
        },
        customer_ids: r.customer_ids,
        status: r.status,
        customers_total: r.total,
        customers_done: r.done,
        invoices_created: r.invoices,
        problems,
        created_by: r.created_by,
        finished_at: r.finished_at,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }))
}

/// The run's next customer still to bill, locked (None: all done). A
/// customer another worker holds is skipped.
pub async fn next_customer(
    conn: &mut PgConnection,
    run: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select customer_id from billing.invoice_run_customers
         where run_id = $1 and status = 'pending' order by customer_id
         limit 1 for update skip locked",
        run
    )
    .fetch_optional(conn)
    .await
}

/// Records a customer's outcome and the run's heartbeat.
pub async fn customer_done(
    conn: &mut PgConnection,
    run: Uuid,
    customer: Uuid,
    failed: bool,
    invoices: i32,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update billing.invoice_run_customers set status = $3, invoices = $4, error = $5
         where run_id = $1 and customer_id = $2",
        run,
        customer,
        if failed { "failed" } else { "done" },
        invoices,
        note
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update billing.invoice_runs set heartbeat_at = now(), version = version + 1,
           updated_at = now() where id = $1",
        run
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Ends the run (completed, or failed when a customer failed).
pub async fn finish(conn: &mut PgConnection, run: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update billing.invoice_runs set
           status = case when exists (select 1 from billing.invoice_run_customers
                                      where run_id = $1 and status = 'failed')
                         then 'failed' else 'completed' end,
           finished_at = now(), version = version + 1, updated_at = now()
         where id = $1 and status = 'running'
           and not exists (select 1 from billing.invoice_run_customers
                           where run_id = $1 and status = 'pending')",
        run
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Runs of any tenant whose worker stopped beating before `older_than`.
pub async fn stalled(
    pool: &PgPool,
    older_than: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from billing.stalled_runs($1)"#,
        older_than
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.id)).collect())
}

/// Claims a stalled run for this worker (false: another one took it).
pub async fn claim(
    conn: &mut PgConnection,
    run: Uuid,
    older_than: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update billing.invoice_runs set heartbeat_at = now()
         where id = $1 and status = 'running' and heartbeat_at < $2",
        run,
        older_than
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The ids of one page of runs (read one by one with [`fetch`]).
pub async fn list_ids(
    conn: &mut PgConnection,
    keyset: &Keyset,
) -> Result<Page<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        updated_at: DateTime<Utc>,
    }
    let qb = sqlx::QueryBuilder::new("select id, updated_at from billing.invoice_runs where true");
    let page = keyset
        .fetch(conn, qb, |r: &Row, field| {
            let v = match field {
                "updated_at" => SortValue::Time(r.updated_at),
                _ => SortValue::Uuid(r.id),
            };
            (v, r.id)
        })
        .await?;
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|r| (r.id, r.updated_at))
            .collect(),
        next_cursor: page.next_cursor,
    })
}
