//! What assets know of CRM: customers (with their ids in other systems, for
//! inventory's customer mapping), contacts (with their e-mail, for an RMM's
//! assigned user) and sites, kept from CRM's events.

use psa_crm::domain::{Contact, Customer, Site};
use sqlx::PgConnection;
use uuid::Uuid;

/// Whether the customer is known and not deleted.
pub async fn customer_known(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from assets.customers where id = $1 and not deleted) as "known!""#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Whether the contact is known, not deleted, and the customer's.
pub async fn contact_of(
    conn: &mut PgConnection,
    id: Uuid,
    customer: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from assets.contacts
             where id = $1 and customer_id = $2 and not deleted) as "known!""#,
        id,
        customer
    )
    .fetch_one(conn)
    .await
}

/// Whether the contact is known and not deleted (a license's seat may go
/// to any of the tenant's contacts).
pub async fn contact_known(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from assets.contacts where id = $1 and not deleted) as "known!""#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Whether the site is known, not deleted, and the customer's.
pub async fn site_of(
    conn: &mut PgConnection,
    id: Uuid,
    customer: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from assets.sites
             where id = $1 and customer_id = $2 and not deleted) as "known!""#,
        id,
        customer
    )
    .fetch_one(conn)
    .await
}

/// The customer whose id in `system` is `external_id`.
pub async fn customer_by_ref(
    conn: &mut PgConnection,
    system: &str,
    external_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from assets.customers
         where not deleted and external_ids ->> $1 = $2 order by id limit 1",
        system,
        external_id
    )
    .fetch_optional(conn)
    .await
}

/// The customer's contact with this e-mail (case-insensitive).
pub async fn contact_by_email(
    conn: &mut PgConnection,
    customer: Uuid,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from assets.contacts
         where not deleted and customer_id = $1 and lower(email) = lower($2) order by id limit 1",
        customer,
        email
    )
    .fetch_optional(conn)
    .await
}

/// Keeps what CRM says of a customer unless a newer version is kept
/// already; a deletion always sticks.
pub async fn upsert_customer(
    conn: &mut PgConnection,
    c: &Customer,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into assets.customers (id, name, external_ids, deleted, version) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, id) do update set name = excluded.name,
           external_ids = excluded.external_ids,
           deleted = excluded.deleted or assets.customers.deleted, version = excluded.version
         where assets.customers.version < excluded.version or excluded.deleted",
        c.id,
        c.name,
        &c.external_ids as _,
        deleted,
        c.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Keeps what CRM says of a contact, like [`upsert_customer`].
pub async fn upsert_contact(
    conn: &mut PgConnection,
    c: &Contact,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into assets.contacts (id, customer_id, email, deleted, version) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
           email = excluded.email,
           deleted = excluded.deleted or assets.contacts.deleted, version = excluded.version
         where assets.contacts.version < excluded.version or excluded.deleted",
        c.id,
        c.customer_id,
        c.email,
        deleted,
        c.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Keeps what CRM says of a site, like [`upsert_customer`].
pub async fn upsert_site(
    conn: &mut PgConnection,
    s: &Site,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into assets.sites (id, customer_id, deleted, version) values ($1, $2, $3, $4)
         on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
           deleted = excluded.deleted or assets.sites.deleted, version = excluded.version
         where assets.sites.version < excluded.version or excluded.deleted",
        s.id,
        s.customer_id,
        deleted,
        s.version,
    )
    .execute(conn)
    .await
    .map(|_| ())
}
