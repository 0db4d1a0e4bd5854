//! Invoices, credit notes and their lines; the number counters; the
//! charges that keep a contract's fee or block from being billed twice.

use std::collections::HashMap;

use chrono::NaiveDate;
use psa_kernel::{IdList, Keyset, Page, PageParams, SortField, SortValue};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::invoice::{
    Buyer, Invoice, InvoiceDocument, InvoiceLine, InvoiceStatus, InvoiceType, LineKind, Seller,
    UnitCode, totals_of,
};
use crate::domain::money::{Totals, VatCategory};

/// Invoice lists: in creation order (the default) or in order of change.
pub const SORTS: &[SortField] = &[SortField::ID, SortField::UPDATED_AT];

fn sort_value(i: &Invoice, field: &str) -> SortValue {
    match field {
        "updated_at" => SortValue::Time(i.updated_at),
        _ => SortValue::Uuid(i.id),
    }
}

pub(crate) const COLUMNS: &str =
    "id, type, status, number, customer_id, currency, issue_date, due_date,
    period_from, period_to, notes, buyer, seller, preceding_invoice_id, preceding_number,
    preceding_issue_date, run_id, net_total, tax_total, gross_total, released_at, version,
    created_at, updated_at";

/// The invoice; `lock` holds it until the transaction ends.
pub async fn fetch(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Invoice>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from billing.invoices where id = $1{}",
        if lock { " for update" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn lines(
    conn: &mut PgConnection,
    invoice: Uuid,
) -> Result<Vec<InvoiceLine>, sqlx::Error> {
    sqlx::query_as!(
        InvoiceLine,
        r#"select id, position, kind as "kind: LineKind", description, quantity,
             unit_code as "unit_code: UnitCode", unit_price, net_amount,
             vat_category as "vat_category: VatCategory", vat_rate, exemption_reason, contract_id,
             period_from, period_to, credited_line_id
           from billing.invoice_lines where invoice_id = $1 order by position"#,
        invoice
    )
    .fetch_all(conn)
    .await
}

/// What a released invoice still asks for: its gross total less its
/// released credit notes (payments will be subtracted here too).
pub async fn open_amount(
    conn: &mut PgConnection,
    inv: &Invoice,
) -> Result<Option<Decimal>, sqlx::Error> {
    if inv.status != InvoiceStatus::Released || inv.invoice_type != InvoiceType::Invoice {
        return Ok(None);
    }
    let credited = sqlx::query_scalar!(
        r#"select coalesce(sum(gross_total), 0) as "credited!" from billing.invoices
           where preceding_invoice_id = $1 and status = 'released'"#,
        inv.id
    )
    .fetch_one(conn)
    .await?;
    Ok(Some(inv.gross_total - credited))
}

/// The invoice with its lines, VAT breakdown and open amount.
pub async fn document(
    conn: &mut PgConnection,
    invoice: Invoice,
) -> Result<InvoiceDocument, sqlx::Error> {
    let lines = lines(conn, invoice.id).await?;
    let open_amount = open_amount(conn, &invoice).await?;
    let files = match invoice.status {
        InvoiceStatus::Draft => vec![],
        InvoiceStatus::Released => super::documents::of(conn, invoice.id).await?,
    };
    Ok(InvoiceDocument {
        vat_breakdown: totals_of(&lines).groups,
        invoice,
        lines,
        open_amount,
        files,
    })
}

/// A new draft's head.
pub struct NewDraft<'a> {
    pub invoice_type: InvoiceType,
    pub customer_id: Uuid,
    pub currency: &'a str,
    pub period: (Option<NaiveDate>, Option<NaiveDate>),
    pub notes: Option<&'a str>,
    pub buyer: &'a Buyer,
    pub preceding: Option<&'a Invoice>,
    pub run_id: Option<Uuid>,
}

pub async fn insert_draft(
    conn: &mut PgConnection,
    d: &NewDraft<'_>,
) -> Result<Invoice, sqlx::Error> {
    let sql = format!(
        "insert into billing.invoices (id, type, status, customer_id, currency, period_from, period_to,
           notes, buyer, preceding_invoice_id, preceding_number, preceding_issue_date, run_id)
         values ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         returning {COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7())
        .bind(d.invoice_type)
        .bind(d.customer_id)
        .bind(d.currency)
        .bind(d.period.0)
        .bind(d.period.1)
        .bind(d.notes)
        .bind(Json(d.buyer))
        .bind(d.preceding.map(|p| p.id))
        .bind(d.preceding.and_then(|p| p.number.clone()))
        .bind(d.preceding.and_then(|p| p.issue_date))
        .bind(d.run_id)
        .fetch_one(conn)
        .await
}

/// A line to write.
pub struct NewLine<'a> {
    pub kind: LineKind,
    pub description: &'a str,
    pub quantity: Decimal,
    pub unit_code: UnitCode,
    pub unit_price: Decimal,
    pub net: Decimal,
    pub vat_category: VatCategory,
    pub vat_rate: Decimal,
    pub exemption_reason: Option<&'a str>,
    pub contract_id: Option<Uuid>,
    pub period: (Option<NaiveDate>, Option<NaiveDate>),
    pub credited_line_id: Option<Uuid>,
}

/// Appends a line after the document's last.
pub async fn insert_line(
    conn: &mut PgConnection,
    invoice: Uuid,
    l: &NewLine<'_>,
) -> Result<InvoiceLine, sqlx::Error> {
    sqlx::query_as!(
        InvoiceLine,
        r#"insert into billing.invoice_lines (id, invoice_id, position, kind, description, quantity,
             unit_code, unit_price, net_amount, vat_category, vat_rate, exemption_reason, contract_id,
             period_from, period_to, credited_line_id)
           values ($1, $2, (select coalesce(max(position), 0) + 1 from billing.invoice_lines where invoice_id = $2),
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           returning id, position, kind as "kind: LineKind", description, quantity,
             unit_code as "unit_code: UnitCode", unit_price, net_amount,
             vat_category as "vat_category: VatCategory", vat_rate, exemption_reason, contract_id,
             period_from, period_to, credited_line_id"#,
        Uuid::now_v7(),
        invoice,
        l.kind as _,
        l.description,
        l.quantity,
        l.unit_code as _,
        l.unit_price,
        l.net,
        l.vat_category.as_str(),
        l.vat_rate,
        l.exemption_reason,
        l.contract_id,
        l.period.0,
        l.period.1,
        l.credited_line_id,
    )
    .fetch_one(conn)
    .await
}

/// Rewrites a line's written fields.
pub async fn update_line(
    conn: &mut PgConnection,
    id: Uuid,
    l: &NewLine<'_>,
) -> Result<InvoiceLine, sqlx::Error> {
    sqlx::query_as!(
        InvoiceLine,
        r#"update billing.invoice_lines set description = $2, quantity = $3, unit_code = $4,
             unit_price = $5, net_amount = $6, vat_category = $7, vat_rate = $8, exemption_reason = $9
           where id = $1
           returning id, position, kind as "kind: LineKind", description, quantity,
             unit_code as "unit_code: UnitCode", unit_price, net_amount,
             vat_category as "vat_category: VatCategory", vat_rate, exemption_reason, contract_id,
             period_from, period_to, credited_line_id"#,
        id,
        l.description,
        l.quantity,
        l.unit_code as _,
        l.unit_price,
        l.net,
        l.vat_category.as_str(),
        l.vat_rate,
        l.exemption_reason,
    )
    .fetch_one(conn)
    .await
}

pub async fn delete_line(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from billing.invoice_lines where id = $1", id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Stores the totals of the lines as the draft's next version.
pub async fn touch(
    conn: &mut PgConnection,
    id: Uuid,
    totals: &Totals,
) -> Result<Invoice, sqlx::Error> {
    let sql = format!(
        "update billing.invoices set net_total = $2, tax_total = $3, gross_total = $4,
           version = version + 1, updated_at = now()
         where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.gross)
        .fetch_one(conn)
        .await
}

/// Recomputes and stores a draft's totals from its lines.
pub async fn retotal(conn: &mut PgConnection, id: Uuid) -> Result<Invoice, sqlx::Error> {
    let lines = lines(conn, id).await?;
    touch(conn, id, &totals_of(&lines)).await
}

pub async fn update_head(
    conn: &mut PgConnection,
    id: Uuid,
    period: (Option<NaiveDate>, Option<NaiveDate>),
    notes: Option<&str>,
) -> Result<Invoice, sqlx::Error> {
    let sql = format!(
        "update billing.invoices set period_from = $2, period_to = $3, notes = $4,
           version = version + 1, updated_at = now()
         where id = $1 returning {COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(period.0)
        .bind(period.1)
        .bind(notes)
        .fetch_one(conn)
        .await
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from billing.invoices where id = $1", id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// What release writes, all at once.
pub struct Release<'a> {
    pub number: &'a str,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub buyer: &'a Buyer,
    pub seller: &'a Seller,
    pub totals: &'a Totals,
    pub period: (NaiveDate, NaiveDate),
}

pub async fn release(
    conn: &mut PgConnection,
    id: Uuid,
    r: &Release<'_>,
) -> Result<Invoice, sqlx::Error> {
    let sql = format!(
        "update billing.invoices set status = 'released', number = $2, issue_date = $3,
           due_date = $4, buyer = $5, seller = $6, net_total = $7, tax_total = $8, gross_total = $9,
           period_from = $10, period_to = $11,
           released_at = now(), version = version + 1, updated_at = now()
         where id = $1 and status = 'draft' returning {COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(r.number)
        .bind(r.issue_date)
        .bind(r.due_date)
        .bind(Json(r.buyer))
        .bind(Json(r.seller))
        .bind(r.totals.net)
        .bind(r.totals.tax)
        .bind(r.totals.gross)
        .bind(r.period.0)
        .bind(r.period.1)
        .fetch_one(conn)
        .await
}

/// The next number of a series and period. The counter row stays locked
/// until the transaction ends, so releases of one series follow each other
/// and a rolled-back release gives its number back: no gaps.
pub async fn next_number(
    conn: &mut PgConnection,
    series: &str,
    period: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into billing.number_counters (series, period, last) values ($1, $2, 1)
         on conflict (tenant_id, series, period) do update set last = billing.number_counters.last + 1
         returning last",
        series,
        period
    )
    .fetch_one(conn)
    .await
}

/// Whether a document of the tenant has this number already.
pub async fn number_exists(conn: &mut PgConnection, number: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from billing.invoices where number = $1) as "taken!""#,
        number
    )
    .fetch_one(conn)
    .await
}

/// What released credit notes (and the credit note `besides`, a draft
/// being released, when given) credit of each line: quantity and net.
pub async fn credited(
    conn: &mut PgConnection,
    lines: &[Uuid],
    besides: Option<Uuid>,
) -> Result<HashMap<Uuid, (Decimal, Decimal)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select l.credited_line_id as "line!", sum(l.quantity) as "quantity!",
             sum(l.net_amount) as "net!"
           from billing.invoice_lines l
           join billing.invoices i on i.tenant_id = l.tenant_id and i.id = l.invoice_id
           where l.credited_line_id = any($1) and (i.status = 'released' or i.id = $2)
           group by l.credited_line_id"#,
        lines,
        besides
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.line, (r.quantity, r.net)))
        .collect())
}

/// What the invoice list filters by (all optional, combined with `and`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilters {
    pub status: Option<InvoiceStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub invoice_type: Option<InvoiceType>,
    pub customer_id: Option<IdList>,
    /// Issued on or after this day.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before this day.
    pub issued_to: Option<NaiveDate>,
    /// The exact number.
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 60>")]
    #[param(schema_with = psa_http::formats::line::<60>)]
    pub number: Option<String>,
    pub run_id: Option<IdList>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's invoices, for many customers at once.
psa_http::per_filters!(InvoiceFilters: customer_id);

pub async fn list(
    conn: &mut PgConnection,
    f: &InvoiceFilters,
    keyset: &Keyset,
) -> Result<Page<Invoice>, sqlx::Error> {
    let mut qb =
        QueryBuilder::<Postgres>::new(format!("select {COLUMNS} from billing.invoices where true"));
    if let Some(s) = f.status {
        qb.push(" and status = ").push_bind(s);
    }
    if let Some(t) = f.invoice_type {
        qb.push(" and type = ").push_bind(t);
    }
    if let Some(c) = &f.customer_id {
        c.push_filter(&mut qb, "customer_id");
    }
    if let Some(d) = f.issued_from {
        qb.push(" and issue_date >= ").push_bind(d);
    }
    if let Some(d) = f.issued_to {
        qb.push(" and issue_date <= ").push_bind(d);
    }
    if let Some(n) = &f.number {
        qb.push(" and number = ").push_bind(n.clone());
    }
    if let Some(r) = &f.run_id {
        r.push_filter(&mut qb, "run_id");
    }
    keyset
        .fetch(conn, qb, |i: &Invoice, field| (sort_value(i, field), i.id))
        .await
}
