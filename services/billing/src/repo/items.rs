//! Billable items: kept from tickets' time-entry events, approved, written
//! off and invoiced here. The API reads them through the view
//! `billing.billable_items` (billable, not deleted, with the ticket's
//! customer and contract).

use std::collections::HashMap;

use chrono::NaiveDate;
use psa_kernel::{Keyset, Page, PageParams, SortField, SortValue};
use psa_tickets::domain::time_entry::TimeEntry;
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::item::{BillableItem, ItemStatus};
use crate::domain::pricing::Work;
use crate::events::BILLABLE_ITEM_UPDATED;

/// Item lists: in booking order (the default) or in order of change.
pub const SORTS: &[SortField] = &[SortField::ID, SortField::UPDATED_AT];

fn sort_value(i: &BillableItem, field: &str) -> SortValue {
    match field {
        "updated_at" => SortValue::Time(i.updated_at),
        _ => SortValue::Uuid(i.id),
    }
}

/// Publishes billing's state of each item (tickets freeze invoiced entries).
pub async fn announce(conn: &mut PgConnection, items: &[BillableItem]) -> Result<(), sqlx::Error> {
    for item in items {
        psa_events::outbox::enqueue(
            conn,
            crate::DB.schema,
            BILLABLE_ITEM_UPDATED.name,
            item.id,
            &item.state(),
        )
        .await?;
    }
    Ok(())
}

/// Keeps what tickets say of a time entry. An edit that changes what is
/// billed (minutes, start, billable, ticket) takes an approved item back to
/// pending, and tells tickets so; an invoiced item keeps its state.
pub async fn apply_time_entry(
    conn: &mut PgConnection,
    e: &TimeEntry,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    let before = sqlx::query_scalar!(
        r#"select status as "status: ItemStatus" from billing.items where id = $1 for update"#,
        e.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let after = sqlx::query_scalar!(
        r#"insert into billing.items (id, ticket_id, user_id, started_at, work_date, minutes,
             description, work_type, billable, deleted, entry_version)
           values ($1, $2, $3, $4, ($4 at time zone 'UTC')::date, $5, $6, $7, $8, $9, $10)
           on conflict (tenant_id, id) do update set ticket_id = excluded.ticket_id,
             user_id = excluded.user_id, started_at = excluded.started_at,
             work_date = excluded.work_date, minutes = excluded.minutes,
             description = excluded.description, work_type = excluded.work_type,
             billable = excluded.billable, deleted = excluded.deleted or billing.items.deleted,
             entry_version = excluded.entry_version,
             status = case when billing.items.status = 'approved'
                             and (billing.items.minutes, billing.items.started_at, billing.items.billable,
                                  billing.items.ticket_id, billing.items.deleted)
                                 is distinct from (excluded.minutes, excluded.started_at, excluded.billable,
                                  excluded.ticket_id, excluded.deleted or billing.items.deleted)
                           then 'pending' else billing.items.status end,
             version = billing.items.version + 1, updated_at = now()
           where billing.items.entry_version < excluded.entry_version
              or (excluded.deleted and not billing.items.deleted)
           returning status as "status: ItemStatus""#,
        e.id,
        e.ticket_id,
        e.user_id,
        e.started_at,
        e.minutes,
        e.description,
        e.work_type,
        e.billable,
        deleted,
        e.version,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if before == Some(ItemStatus::Approved) && after == Some(ItemStatus::Pending) {
        sqlx::query!(
            "update billing.items set approved_by = null, approved_at = null where id = $1",
            e.id
        )
        .execute(&mut *conn)
        .await?;
        if let Some(item) = fetch(conn, e.id).await? {
            announce(conn, &[item]).await?;
        }
    }
    Ok(())
}

pub async fn fetch(conn: &mut PgConnection, id: Uuid) -> Result<Option<BillableItem>, sqlx::Error> {
    sqlx::query_as!(
        BillableItem,
        r#"select id as "id!", ticket_id as "ticket_id!", customer_id, contract_id,
             user_id as "user_id!", started_at as "started_at!", work_date as "work_date!",
             minutes as "minutes!", description, work_type, status as "status!: ItemStatus",
             approved_by, approved_at, invoice_id, version as "version!",
             created_at as "created_at!", updated_at as "updated_at!"
           from billing.billable_items where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The items among `ids`, locked, in id order (a missing one is absent).
pub async fn lock(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<BillableItem>, sqlx::Error> {
    sqlx::query!(
        "select id from billing.items where id = any($1) and billable and not deleted
         order by id for update",
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query_as!(
        BillableItem,
        r#"select id as "id!", ticket_id as "ticket_id!", customer_id, contract_id,
             user_id as "user_id!", started_at as "started_at!", work_date as "work_date!",
             minutes as "minutes!", description, work_type, status as "status!: ItemStatus",
             approved_by, approved_at, invoice_id, version as "version!",
             created_at as "created_at!", updated_at as "updated_at!"
           from billing.billable_items where id = any($1) order by id"#,
        ids
    )
    .fetch_all(conn)
    .await
}

/// Moves the items among `ids` whose status is in `from` to `to` (with who
/// approved for `approved`), returning the changed ones.
pub async fn set_status(
    conn: &mut PgConnection,
    ids: &[Uuid],
    from: &[ItemStatus],
    to: ItemStatus,
    by: Option<&str>,
) -> Result<Vec<BillableItem>, sqlx::Error> {
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_owned()).collect();
    let changed = sqlx::query_scalar!(
        "update billing.items set status = $3,
           approved_by = case when $3 = 'approved' then $4 else approved_by end,
           approved_at = case when $3 = 'approved' then now() else approved_at end,
           version = version + 1, updated_at = now()
         where id = any($1) and status = any($2) and billable and not deleted
         returning id",
        ids,
        &from,
        to.as_str(),
        by,
    )
    .fetch_all(&mut *conn)
    .await?;
    lock(conn, &changed).await
}

/// The approved, uninvoiced items of a customer's tickets worked in
/// `from..=to`, locked, with their ticket's contract (None: the ticket
/// names none).
pub async fn approved_work(
    conn: &mut PgConnection,
    customer: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Work, Option<Uuid>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select i.id, i.ticket_id, i.work_date, i.minutes, t.number, t.title, t.contract_id
         from billing.items i
         join billing.tickets t on t.tenant_id = i.tenant_id and t.id = i.ticket_id
         where t.customer_id = $1 and i.status = 'approved' and i.billable and not i.deleted
           and i.work_date between $2 and $3
         order by i.id
         for update of i",
        customer,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let work = Work {
                item: r.id,
                ticket: r.ticket_id,
                ticket_label: format!("{} {}", r.number, r.title),
                date: r.work_date,
                minutes: r.minutes,
            };
            (work, r.contract_id)
        })
        .collect())
}

/// Marks items invoiced on `invoice`, each linked once (the primary key of
/// `invoice_items` refuses a second invoice for an item).
pub async fn invoice(
    conn: &mut PgConnection,
    invoice: Uuid,
    billed: &[(Uuid, i32, Option<Uuid>, Uuid)],
) -> Result<Vec<BillableItem>, sqlx::Error> {
    let (items, minutes, lines, contracts): (Vec<Uuid>, Vec<i32>, Vec<Option<Uuid>>, Vec<Uuid>) =
        billed.iter().fold(
            (vec![], vec![], vec![], vec![]),
            |(mut a, mut b, mut c, mut d), (item, min, line, contract)| {
                a.push(*item);
                b.push(*min);
                c.push(*line);
                d.push(*contract);
                (a, b, c, d)
            },
        );
    sqlx::query!(
        "insert into billing.invoice_items (item_id, invoice_id, line_id, contract_id, billed_minutes,
           entry_version)
         select u.item, $1, u.line, u.contract, u.minutes, i.entry_version
         from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::int[]) as u(item, line, contract, minutes)
         join billing.items i on i.id = u.item",
        invoice,
        &items,
        &lines as &[Option<Uuid>],
        &contracts,
        &minutes,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update billing.items set status = 'invoiced', invoice_id = $1, version = version + 1,
           updated_at = now()
         where id = any($2)",
        invoice,
        &items
    )
    .execute(&mut *conn)
    .await?;
    lock(conn, &items).await
}

/// Gives the items of a draft (or of one of its lines) back: invoiced →
/// approved, or pending when the time entry changed since it was billed
/// (nobody approved what it says now). Their links go here.
pub async fn give_back(
    conn: &mut PgConnection,
    invoice: Uuid,
    line: Option<Uuid>,
) -> Result<Vec<BillableItem>, sqlx::Error> {
    let links = sqlx::query!(
        "delete from billing.invoice_items
         where invoice_id = $1 and ($2::uuid is null or line_id = $2)
         returning item_id, entry_version",
        invoice,
        line
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = links.iter().map(|l| l.item_id).collect();
    let versions: Vec<i64> = links.iter().map(|l| l.entry_version).collect();
    sqlx::query!(
        "update billing.items i set
           status = case when i.entry_version = g.entry_version then 'approved' else 'pending' end,
           approved_by = case when i.entry_version = g.entry_version then i.approved_by end,
           approved_at = case when i.entry_version = g.entry_version then i.approved_at end,
           invoice_id = null, version = i.version + 1, updated_at = now()
         from unnest($1::uuid[], $2::bigint[]) as g(id, entry_version)
         where i.id = g.id and i.status = 'invoiced'",
        &ids,
        &versions
    )
    .execute(&mut *conn)
    .await?;
    lock(conn, &ids).await
}

/// How many time entries on a draft changed, stopped being billable or
/// were deleted since the run billed them.
pub async fn changed_since_billed(
    conn: &mut PgConnection,
    invoice: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "changed!" from billing.invoice_items ii
           join billing.items i on i.tenant_id = ii.tenant_id and i.id = ii.item_id
           where ii.invoice_id = $1
             and (i.deleted or not i.billable or i.entry_version <> ii.entry_version)"#,
        invoice
    )
    .fetch_one(conn)
    .await
}

/// Minutes billed under a contract so far, per month of the work (its
/// first day): a month's used included hours, and summed a block's.
pub async fn billed_minutes(
    conn: &mut PgConnection,
    contract: Uuid,
) -> Result<HashMap<NaiveDate, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select date_trunc('month', i.work_date)::date as "month!",
             sum(ii.billed_minutes)::bigint as "minutes!"
           from billing.invoice_items ii
           join billing.items i on i.tenant_id = ii.tenant_id and i.id = ii.item_id
           where ii.contract_id = $1
           group by 1"#,
        contract
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.month, r.minutes)).collect())
}

/// What the item list filters by (all optional, combined with `and`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemFilters {
    pub status: Option<ItemStatus>,
    pub customer_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 200>")]
    #[param(schema_with = psa_http::formats::line::<200>)]
    pub user_id: Option<String>,
    /// Worked on or after this day.
    pub worked_from: Option<NaiveDate>,
    /// Worked on or before this day.
    pub worked_to: Option<NaiveDate>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

pub async fn list(
    conn: &mut PgConnection,
    f: &ItemFilters,
    keyset: &Keyset,
) -> Result<Page<BillableItem>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, ticket_id, customer_id, contract_id, user_id, started_at, work_date, minutes,
           description, work_type, status, approved_by, approved_at, invoice_id, version,
           created_at, updated_at
         from billing.billable_items where true",
    );
    if let Some(s) = f.status {
        qb.push(" and status = ").push_bind(s.as_str());
    }
    if let Some(c) = f.customer_id {
        qb.push(" and customer_id = ").push_bind(c);
    }
    if let Some(t) = f.ticket_id {
        qb.push(" and ticket_id = ").push_bind(t);
    }
    if let Some(u) = &f.user_id {
        qb.push(" and user_id = ").push_bind(u.clone());
    }
    if let Some(d) = f.worked_from {
        qb.push(" and work_date >= ").push_bind(d);
    }
    if let Some(d) = f.worked_to {
        qb.push(" and work_date <= ").push_bind(d);
    }
    keyset
        .fetch(conn, qb, |i: &BillableItem, field| {
            (sort_value(i, field), i.id)
        })
        .await
}
