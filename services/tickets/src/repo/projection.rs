//! What tickets know of CRM: customers and contracts, kept from CRM's
//! events, read where tickets are opened and changed.

use psa_assets::domain::Asset;
use psa_crm::domain::contract::{BusinessHours, SlaTerms};
use psa_crm::domain::{Contract, Customer};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::sla::Terms;

/// Whether the customer is known and not deleted.
pub async fn customer_known(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from tickets.customers where id = $1 and not deleted) as "known!""#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Whether the asset is known, not deleted, and the customer's.
pub async fn asset_of(
    conn: &mut PgConnection,
    id: Uuid,
    customer: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from tickets.assets
             where id = $1 and customer_id = $2 and not deleted) as "known!""#,
        id,
        customer
    )
    .fetch_one(conn)
    .await
}

/// Keeps what the assets module says of an asset, like [`upsert_customer`].
pub async fn upsert_asset(
    conn: &mut PgConnection,
    a: &Asset,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into tickets.assets (id, customer_id, name, deleted, version) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
           name = excluded.name,
           deleted = excluded.deleted or tickets.assets.deleted, version = excluded.version
         where tickets.assets.version < excluded.version or excluded.deleted",
        a.id,
        a.customer_id,
        a.name,
        deleted,
        a.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// The SLA terms in force for a customer today: its newest active contract
/// that has some.
pub async fn terms_for_customer(
    conn: &mut PgConnection,
    customer: Uuid,
) -> Result<Option<Terms>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id, sla as "sla!: Json<SlaTerms>", business_hours as "business_hours: Json<BusinessHours>"
           from tickets.contracts
           where customer_id = $1 and not deleted and status = 'active' and sla is not null
             and start_date <= current_date and (end_date is null or end_date >= current_date)
           order by start_date desc, id desc limit 1"#,
        customer
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Terms::new(r.id, r.sla.0, r.business_hours.as_ref().map(|h| &h.0))))
}

/// The SLA terms of a ticket's contract, if it (still) has some.
pub async fn terms_of_contract(
    conn: &mut PgConnection,
    contract: Uuid,
) -> Result<Option<Terms>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select sla as "sla: Json<SlaTerms>", business_hours as "business_hours: Json<BusinessHours>"
           from tickets.contracts where id = $1"#,
        contract
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        let hours = r.business_hours.map(|h| h.0);
        r.sla.map(|sla| Terms::new(contract, sla.0, hours.as_ref()))
    }))
}

/// Keeps what CRM says of a customer unless a newer version is kept
/// already; a deletion always sticks.
pub async fn upsert_customer(
    conn: &mut PgConnection,
    c: &Customer,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into tickets.customers (id, name, status, deleted, version) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, id) do update set name = excluded.name, status = excluded.status,
           deleted = excluded.deleted or tickets.customers.deleted, version = excluded.version
         where tickets.customers.version < excluded.version or excluded.deleted",
        c.id,
        c.name,
        c.status as _,
        deleted,
        c.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Keeps what CRM says of a contract, like [`upsert_customer`].
pub async fn upsert_contract(
    conn: &mut PgConnection,
    c: &Contract,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into tickets.contracts (id, customer_id, status, start_date, end_date, sla,
           business_hours, deleted, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
           status = excluded.status, start_date = excluded.start_date, end_date = excluded.end_date,
           sla = excluded.sla, business_hours = excluded.business_hours,
           deleted = excluded.deleted or tickets.contracts.deleted, version = excluded.version
         where tickets.contracts.version < excluded.version or excluded.deleted",
        c.id,
        c.customer_id,
        c.status as _,
        c.start_date,
        c.end_date,
        &c.sla as _,
        &c.business_hours as _,
        deleted,
        c.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}
