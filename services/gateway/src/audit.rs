//! The audit log of writes through the gateway: queued on the request path,
//! written in batches by a background task, flushed on shutdown.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    #[serde(skip)]
    #[sqlx(default)]
    pub tenant_id: Uuid,
    /// The `X-Request-Id` the client saw.
    pub request_id: String,
    pub subject: String,
    pub client_id: Option<String>,
    pub method: String,
    pub path: String,
    pub resource_id: Option<String>,
    pub status: i16,
    pub created_at: DateTime<Utc>,
}

/// Starts the writer; entries sent to the returned sender are stored in
/// batches. The task ends (after a last flush) when every sender is gone.
pub fn start(
    pool: PgPool,
    batch: usize,
    flush_every: Duration,
) -> (mpsc::Sender<AuditEntry>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<AuditEntry>(10_000);
    let handle = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(batch);
        loop {
            let closed = tokio::select! {
                got = rx.recv() => match got {
                    Some(e) => { buf.push(e); false }
                    None => true,
                },
                () = tokio::time::sleep(flush_every), if !buf.is_empty() => false,
            };
            while buf.len() < batch {
                match rx.try_recv() {
                    Ok(e) => buf.push(e),
                    Err(_) => break,
                }
            }
            if !buf.is_empty() && (closed || buf.len() >= batch || rx.is_empty()) {
                write_with_retry(&pool, &mut buf).await;
            }
            if closed {
                break;
            }
        }
    });
    (tx, handle)
}

async fn write_with_retry(pool: &PgPool, buf: &mut Vec<AuditEntry>) {
    for attempt in 0..5u32 {
        match write(pool, buf).await {
            Ok(()) => {
                metrics::counter!("gateway_audit_rows_total").increment(buf.len() as u64);
                buf.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, rows = buf.len(), "writing audit rows failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
        }
    }
    tracing::error!(
        rows = buf.len(),
        "audit rows could not be written; keeping them for the next batch"
    );
}

async fn write(pool: &PgPool, entries: &[AuditEntry]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for e in entries {
        // One transaction, the tenant switched per row: RLS checks each insert.
        psa_db::set_tenant(&mut tx, e.tenant_id).await?;
        sqlx::query(
            "insert into gateway.audit_log (id, request_id, subject, client_id, method, path, resource_id, status, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing",
        )
        .bind(e.id)
        .bind(&e.request_id)
        .bind(&e.subject)
        .bind(&e.client_id)
        .bind(&e.method)
        .bind(&e.path)
        .bind(&e.resource_id)
        .bind(e.status)
        .bind(e.created_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
