//! The transactional outbox and its relay, and the consumer with its inbox.
//!
//! Each module's schema has `outbox (tenant_id, id, type, subject, payload,
//! created_at, sent_at)` under row-level security, plus three narrow
//! `security definer` functions through which the relay (which serves every
//! tenant) claims, marks, defers and counts rows: `outbox_claim(int)`,
//! `outbox_mark_sent(uuid[])`, `outbox_defer(uuid[])`, `outbox_stats()`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::bus::{Bus, BusError, PublishOutcome};
use crate::envelope::CloudEvent;

/// Writes an event in the caller's (tenant) transaction, next to the change it describes.
pub async fn enqueue<T: Serialize>(
    conn: &mut PgConnection,
    schema: &'static str,
    event_type: &str,
    subject: Uuid,
    data: &T,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_value(data).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(AssertSqlSafe(format!(
        "insert into {schema}.outbox (id, type, subject, payload) values ($1, $2, $3, $4)"
    )))
    .bind(id)
    .bind(event_type)
    .bind(subject.to_string())
    .bind(payload)
    .execute(conn)
    .await?;
    Ok(id)
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    #[sqlx(rename = "type")]
    event_type: String,
    subject: String,
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub unroutable: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("failpoint: crashed after the broker's ack, before marking rows sent")]
    Crashed,
}

/// Publishes a module's outbox. Several relays may run: rows are claimed
/// with `FOR UPDATE SKIP LOCKED`, so none is published twice at once.
pub struct Relay {
    pub pool: PgPool,
    pub schema: &'static str,
    pub source: String,
    pub bus: Arc<Bus>,
    pub batch: i64,
    /// Test failpoint: when set, a round stops after the broker acked and
    /// before the rows are marked sent (as a crash would).
    pub crash_after_ack: Arc<AtomicBool>,
}

impl Relay {
    pub async fn run_once(&self) -> Result<Round, RelayError> {
        let schema = self.schema;
        let mut tx = self.pool.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "select id, tenant_id, type, subject, payload, created_at from {schema}.outbox_claim($1::int)"
        )))
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut round = Round {
            claimed: rows.len(),
            ..Round::default()
        };
        let mut sent = Vec::with_capacity(rows.len());
        let mut unroutable: Vec<(Uuid, String)> = Vec::new();
        let mut failure = None;
        for r in rows {
            let event = CloudEvent::new(
                r.id,
                &self.source,
                &r.event_type,
                r.created_at,
                &r.subject,
                r.tenant_id,
                r.payload,
            );
            match self.bus.publish(&event).await {
                Ok(PublishOutcome::Delivered) => sent.push(r.id),
                Ok(PublishOutcome::Unroutable) => {
                    metrics::counter!("psa_outbox_unroutable_total", "schema" => schema)
                        .increment(1);
                    unroutable.push((r.id, r.event_type));
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if self.crash_after_ack.load(Ordering::SeqCst) && !sent.is_empty() {
            return Err(RelayError::Crashed);
        }
        sqlx::query(AssertSqlSafe(format!(
            "select {schema}.outbox_mark_sent($1)"
        )))
        .bind(&sent)
        .execute(&mut *tx)
        .await?;
        if !unroutable.is_empty() {
            // Kept pending, retried later with growing delays (1 s … 5 min).
            let ids: Vec<Uuid> = unroutable.iter().map(|(id, _)| *id).collect();
            sqlx::query(AssertSqlSafe(format!("select {schema}.outbox_defer($1)")))
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            let types: std::collections::BTreeSet<&str> =
                unroutable.iter().map(|(_, t)| t.as_str()).collect();
            tracing::warn!(count = ids.len(), types = ?types, "no queue is bound for these events; kept pending, retried later");
            round.unroutable = ids.len();
        }
        tx.commit().await?;
        round.sent = sent.len();
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(round),
        }
    }

    /// Pending rows and the age of the oldest, as gauges.
    pub async fn record_backlog(&self) -> Result<(i64, f64), sqlx::Error> {
        let (pending, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(AssertSqlSafe(
            format!("select pending, oldest from {}.outbox_stats()", self.schema),
        ))
        .fetch_one(&self.pool)
        .await?;
        let age = oldest
            .map(|o| (Utc::now() - o).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0);
        metrics::gauge!("psa_outbox_pending", "schema" => self.schema).set(pending as f64);
        metrics::gauge!("psa_outbox_oldest_seconds", "schema" => self.schema).set(age);
        Ok((pending, age))
    }

    /// Runs until the task is dropped: publishes, then waits briefly when
    /// idle, and backs off (up to 5 s) while the broker is away.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let idle = match self.run_once().await {
                Ok(r) => {
                    backoff = Duration::from_millis(100);
                    r.sent == 0
                }
                Err(e) => {
                    tracing::warn!(schema = self.schema, error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay round failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    false
                }
            };
            let _ = self.record_backlog().await;
            if idle {
                // Nothing sent: either nothing pending or only unroutable rows.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Handles one event inside the consumer's transaction (already scoped to the event's tenant).
pub type Handler = Arc<
    dyn for<'c> Fn(CloudEvent, &'c mut PgConnection) -> BoxFuture<'c, Result<(), String>>
        + Send
        + Sync,
>;

/// A consumer: its queue, and the schema whose `inbox (tenant_id, event_id)` records handled events.
pub struct Consumer {
    pub bus: Arc<Bus>,
    pub pool: PgPool,
    pub schema: &'static str,
    pub queue: String,
    pub handler: Handler,
}

impl Consumer {
    /// Consumes until the connection drops (the caller restarts it).
    pub async fn run(&self) -> Result<(), BusError> {
        let ch = self.bus.channel().await?;
        ch.basic_qos(16, BasicQosOptions::default())
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut deliveries = ch
            .basic_consume(
                self.queue.clone().into(),
                format!("{}-{}", self.queue, Uuid::new_v4().simple()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        while let Some(delivery) = deliveries.next().await {
            let delivery = delivery.map_err(|e| BusError::Unavailable(e.to_string()))?;
            let outcome = match serde_json::from_slice::<CloudEvent>(&delivery.data) {
                Ok(event) => self.handle(event).await,
                Err(e) => Err(format!("not a CloudEvent: {e}")),
            };
            let acked = match outcome {
                Ok(()) => delivery.ack(BasicAckOptions::default()).await,
                Err(why) => {
                    tracing::warn!(queue = %self.queue, error = %why, "handling failed; rejected (counts toward the delivery limit)");
                    metrics::counter!("psa_consumer_failures_total", "queue" => self.queue.clone())
                        .increment(1);
                    delivery.reject(BasicRejectOptions { requeue: true }).await
                }
            };
            acked.map_err(|e| BusError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }

    /// The effect and the inbox record commit together; a redelivered event
    /// finds its id in the inbox and has no second effect.
    pub async fn handle(&self, event: CloudEvent) -> Result<(), String> {
        let mut tx = psa_db::begin_tenant(&self.pool, event.tenantid)
            .await
            .map_err(|e| e.to_string())?;
        let fresh = sqlx::query(AssertSqlSafe(format!(
            "insert into {}.inbox (event_id, type) values ($1, $2) on conflict do nothing",
            self.schema
        )))
        .bind(event.id)
        .bind(&event.event_type)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?
        .rows_affected()
            == 1;
        if fresh {
            (self.handler)(event, &mut tx).await?;
        }
        tx.commit().await.map_err(|e| e.to_string())
    }
}
