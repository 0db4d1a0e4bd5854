//! SQL for each CRM resource, one file per resource: the kernel's
//! [`psa_kernel::Resource`] for each, and the conditions its lists filter
//! by. Queries carry no tenant filter: row-level security scopes them to the
//! transaction's tenant.

pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod sites;

use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::CrmError;

/// Restricts a list to one customer's rows (contacts, sites, contracts).
pub fn of_customer(qb: &mut QueryBuilder<Postgres>, customer_id: Uuid) {
    qb.push(" and customer_id = ").push_bind(customer_id);
}

/// A contact, site or contract may only name a customer of the same tenant.
async fn require_customer(conn: &mut PgConnection, customer_id: Uuid) -> Result<(), CrmError> {
    if customers::exists(conn, customer_id).await? {
        Ok(())
    } else {
        Err(CrmError::UnknownCustomer)
    }
}
