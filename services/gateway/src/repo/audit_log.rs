//! `gateway.audit_log`: written in batches across tenants (the tenant set
//! per row, so row-level security checks each insert), read per tenant.

use psa_kernel::{Keyset, Page, SortField, SortValue};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::domain::audit::AuditEntry;

/// The sorts the list offers: id (UUID v7, the order of writing) and time.
pub const SORTS: &[SortField] = &[SortField::ID, SortField::CREATED_AT];

/// Stores a batch in one transaction; an entry already stored is skipped.
pub async fn insert_batch(pool: &PgPool, entries: &[AuditEntry]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for e in entries {
        psa_db::set_tenant(&mut tx, e.tenant_id).await?;
        sqlx::query!(
            "insert into gateway.audit_log (id, request_id, subject, client_id, method, path, resource_id, status, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing",
            e.id,
            e.request_id,
            e.subject,
            e.client_id,
            e.method,
            e.path,
            e.resource_id,
            e.status,
            e.created_at,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The select of the tenant's entries (`updated_since` reads as "written
/// since": entries never change), optionally of one request: what [`list`]
/// pages through (the plan test explains it).
pub fn list_query(request_id: Option<String>) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, request_id, subject, client_id, method, path, resource_id, status, created_at
         from (select id, request_id, subject, client_id, method, path, resource_id, status,
                 created_at, created_at as updated_at from gateway.audit_log) as audit_log
         where true",
    );
    if let Some(r) = request_id {
        qb.push(" and request_id = ").push_bind(r);
    }
    qb
}

/// One page of the tenant's entries, optionally of one request.
pub async fn list(
    conn: &mut PgConnection,
    request_id: Option<String>,
    keyset: &Keyset,
) -> Result<Page<AuditEntry>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(request_id), |e: &AuditEntry, field| {
            let value = match field {
                "created_at" => SortValue::Time(e.created_at),
                _ => SortValue::Uuid(e.id),
            };
            (value, e.id)
        })
        .await
}
