//! What billing knows of CRM and tickets: customers, contracts and tickets,
//! kept from their events (newer versions win; a deletion sticks).

use chrono::NaiveDate;
use psa_crm::domain::customer::{EinvoiceFormat, VatTreatment};
use psa_crm::domain::validate::Address;
use psa_crm::domain::{Contract, Customer};
use psa_tickets::domain::ticket::Ticket;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::invoice::Buyer;
use crate::domain::pricing::{Kind, Terms};

pub async fn upsert_customer(
    conn: &mut PgConnection,
    c: &Customer,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into billing.customers (id, customer_number, name, address, billing_address, vat_id,
           tax_number, leitweg_id, payment_terms_days, invoice_email, einvoice_format, vat_treatment,
           deleted, version, debtor_account)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict (tenant_id, id) do update set customer_number = excluded.customer_number,
           name = excluded.name, address = excluded.address, billing_address = excluded.billing_address,
           vat_id = excluded.vat_id, tax_number = excluded.tax_number, leitweg_id = excluded.leitweg_id,
           payment_terms_days = excluded.payment_terms_days, invoice_email = excluded.invoice_email,
           einvoice_format = excluded.einvoice_format, vat_treatment = excluded.vat_treatment,
           debtor_account = excluded.debtor_account,
           deleted = excluded.deleted or billing.customers.deleted, version = excluded.version
         where billing.customers.version < excluded.version or excluded.deleted",
        c.id,
        c.customer_number,
        c.name,
        &c.address as _,
        &c.billing_address as _,
        c.vat_id,
        c.tax_number,
        c.leitweg_id,
        c.payment_terms_days,
        c.invoice_email,
        c.einvoice_format as _,
        c.vat_treatment as _,
        deleted,
        c.version,
        c.debtor_account,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn upsert_contract(
    conn: &mut PgConnection,
    c: &Contract,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into billing.contracts (id, customer_id, name, type, status, currency, hourly_rate,
           monthly_fee, included_hours, start_date, end_date, billing_increment_minutes, billing_day,
           deleted, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
           name = excluded.name, type = excluded.type, status = excluded.status,
           currency = excluded.currency, hourly_rate = excluded.hourly_rate,
           monthly_fee = excluded.monthly_fee, included_hours = excluded.included_hours,
           start_date = excluded.start_date, end_date = excluded.end_date,
           billing_increment_minutes = excluded.billing_increment_minutes,
           billing_day = excluded.billing_day,
           deleted = excluded.deleted or billing.contracts.deleted, version = excluded.version
         where billing.contracts.version < excluded.version or excluded.deleted",
        c.id,
        c.customer_id,
        c.name,
        c.contract_type as _,
        c.status as _,
        c.currency,
        c.hourly_rate,
        c.monthly_fee,
        c.included_hours,
        c.start_date,
        c.end_date,
        c.billing_increment_minutes,
        c.billing_day,
        deleted,
        c.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn upsert_ticket(conn: &mut PgConnection, t: &Ticket) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into billing.tickets (id, number, title, customer_id, contract_id, version)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (tenant_id, id) do update set number = excluded.number, title = excluded.title,
           customer_id = excluded.customer_id, contract_id = excluded.contract_id,
           version = excluded.version
         where billing.tickets.version < excluded.version",
        t.id,
        t.number,
        t.title,
        t.customer_id,
        t.contract_id,
        t.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// The buyer as billing knows the customer (None: unknown or deleted).
pub async fn buyer(conn: &mut PgConnection, id: Uuid) -> Result<Option<Buyer>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select customer_number, name, address as "address: Json<Address>",
             billing_address as "billing_address: Json<Address>", vat_id, tax_number, leitweg_id,
             invoice_email, payment_terms_days, debtor_account,
             einvoice_format as "einvoice_format: EinvoiceFormat",
             vat_treatment as "vat_treatment: VatTreatment"
           from billing.customers where id = $1 and not deleted"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Buyer {
        customer_number: r.customer_number,
        name: r.name,
        address: r.billing_address.or(r.address).map(|a| a.0),
        vat_id: r.vat_id,
        tax_number: r.tax_number,
        leitweg_id: r.leitweg_id,
        email: r.invoice_email,
        payment_terms_days: r.payment_terms_days,
        debtor_account: r.debtor_account,
        einvoice_format: r.einvoice_format,
        vat_treatment: r.vat_treatment,
    }))
}

/// A customer's contracts that may bill in `from..=to`, oldest first.
pub async fn contracts_in_period(
    conn: &mut PgConnection,
    customer: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Terms, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, name, type, currency, hourly_rate, monthly_fee, included_hours, start_date,
           end_date, billing_increment_minutes
         from billing.contracts
         where customer_id = $1 and not deleted and status in ('active', 'ended')
           and start_date <= $3 and (end_date is null or end_date >= $2)
         order by start_date, id",
        customer,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let terms = Terms {
                id: r.id,
                name: r.name,
                kind: Kind::parse(&r.r#type)?,
                hourly_rate: r.hourly_rate,
                monthly_fee: r.monthly_fee,
                included_hours: r.included_hours,
                start: r.start_date,
                end: r.end_date,
                increment_minutes: r.billing_increment_minutes,
            };
            Some((terms, r.currency))
        })
        .collect())
}

/// The customers with a contract that may bill in `from..=to`.
pub async fn customers_in_period(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct c.id from billing.customers c
         join billing.contracts k on k.customer_id = c.id
         where not c.deleted and not k.deleted and k.status in ('active', 'ended')
           and k.start_date <= $2 and (k.end_date is null or k.end_date >= $1)
         order by c.id",
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// Whether billing knows the customer (a deleted one too: it may still owe).
pub async fn customer_known(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from billing.customers where id = $1) as "known!""#,
        id
    )
    .fetch_one(conn)
    .await
}
