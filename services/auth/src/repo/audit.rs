//! `auth.audit_events`: written in the transaction of what they record.

use psa_kernel::{Keyset, Page, SortField, SortValue};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Listed;
use crate::domain::audit::{AuditEvent, Entry, Outcome};

pub async fn record(conn: &mut PgConnection, e: &Entry) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into auth.audit_events (id, action, actor, target, outcome, ip, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::now_v7(),
        e.action,
        e.actor,
        e.target,
        e.outcome as Outcome,
        e.ip,
        e.detail,
    )
    .execute(conn)
    .await?;
    tracing::info!(
        action = e.action,
        actor = e.actor,
        outcome = ?e.outcome,
        "audit"
    );
    Ok(())
}

impl Listed for AuditEvent {
    const SORTS: &'static [SortField] = &[SortField::CREATED_AT, SortField::ID];

    fn list_query() -> QueryBuilder<Postgres> {
        // Events never change: `updated_since` reads as "recorded since".
        QueryBuilder::new(
            "select id, action, actor, target, outcome, ip, detail, created_at from \
             (select id, action, actor, target, outcome, ip, detail, created_at, \
             created_at as updated_at from auth.audit_events) as audit_events where true",
        )
    }

    async fn page(conn: &mut PgConnection, keyset: &Keyset) -> Result<Page<Self>, sqlx::Error> {
        keyset
            .fetch(conn, Self::list_query(), |e: &AuditEvent, field| {
                let value = match field {
                    "id" => SortValue::Uuid(e.id),
                    _ => SortValue::Time(e.created_at),
                };
                (value, e.id)
            })
            .await
    }
}
