//! Work that is no caller's request: SLA breach detection across tenants,
//! and the projection of CRM customers and contracts.

use chrono::{DateTime, Utc};
use psa_events::catalog::EventType;
use psa_kernel::{Store, Tx};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::events::{BreachKind, SlaBreached, TICKET_SLA_BREACHED};
use crate::repo;

/// Reports every SLA breach once: the conditional update is the guard.
pub async fn watch_sla_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let store = Store::new(pool.clone(), crate::DB.schema);
    let mut reported = 0;
    for (tenant, id) in repo::tickets::overdue(pool, now).await? {
        let mut tx = Tx::for_tenant(&store, tenant).await?;
        for kind in [BreachKind::Response, BreachKind::Resolution] {
            if repo::tickets::mark_breached(&mut tx, id, kind, now).await? {
                let ticket = repo::tickets::fetch(&mut tx, id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                tx.emit(&TICKET_SLA_BREACHED, id, &SlaBreached { kind, ticket })
                    .await?;
                reported += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(reported)
}

/// The event type among `types` named `name`.
fn one_of<T>(name: &str, types: [EventType<T>; 3]) -> Option<EventType<T>> {
    types.into_iter().find(|t| t.name == name)
}

/// Applies a CRM event to the projection; older versions than stored are
/// ignored. `data` is decoded as the CRM's own type for the event.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    use psa_crm::events::{
        CONTRACT_CREATED, CONTRACT_DELETED, CONTRACT_UPDATED, CUSTOMER_CREATED, CUSTOMER_DELETED,
        CUSTOMER_UPDATED,
    };
    let decode_error = |e: serde_json::Error| format!("{event_type}: {e}");
    let result = if let Some(event) = one_of(
        event_type,
        [CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_DELETED],
    ) {
        let customer = event.decode(data).map_err(decode_error)?;
        repo::projection::upsert_customer(conn, &customer, event.name == CUSTOMER_DELETED.name)
            .await
    } else if let Some(event) = one_of(
        event_type,
        [CONTRACT_CREATED, CONTRACT_UPDATED, CONTRACT_DELETED],
    ) {
        let contract = event.decode(data).map_err(decode_error)?;
        repo::projection::upsert_contract(conn, &contract, event.name == CONTRACT_DELETED.name)
            .await
    } else {
        return Ok(());
    };
    result.map_err(|e| e.to_string())
}
