//! The audit writer: entries queued on the request path are written in
//! batches by a background task, flushed on shutdown.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::domain::audit::AuditEntry;
use crate::repo;

/// Starts the writer; entries sent to the returned sender are stored in
/// batches. The task ends (after a last flush) when every sender is gone.
pub fn audit_writer(
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
        match repo::audit_log::insert_batch(pool, buf).await {
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
