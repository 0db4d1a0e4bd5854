//! The transactional outbox and its relay, and the consumer with its inbox.
//!
//! Each module's schema has `outbox (tenant_id, id, type, subject, payload,
//! created_at, sent_at)` under row-level security, plus three narrow
//! `security definer` functions through which the relay (which serves every
//! tenant) claims, marks, defers and counts rows: `outbox_claim(int)`,
//! `outbox_mark_sent(uuid[])`, `outbox_defer(uuid[])`, `outbox_stats()`, and
//! asks to be woken on commit: `outbox_listening(interval)`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
use crate::listen::{Signals, listener};

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
///
/// It is woken when a transaction that wrote events commits (`LISTEN
/// <schema>_outbox`; writers notify only while a relay waits, see
/// `outbox_listening` in the platform template) and polls as the fallback:
/// every `poll_interval` while it waits, and whenever its listening
/// connection was lost.
pub struct Relay {
    pub pool: PgPool,
    pub schema: &'static str,
    pub source: String,
    pub bus: Arc<Bus>,
    pub batch: i64,
    pub poll_interval: Duration,
    /// Test failpoint: when set, a round stops after the broker acked and
    /// before the rows are marked sent (as a crash would).
    pub crash_after_ack: Arc<AtomicBool>,
}

/// How long writers keep notifying for a waiting relay (renewed while it
/// waits): a relay that died stops costing them soon.
const LISTEN_LEASE: Duration = Duration::from_secs(60);

/// After a round that published, the next look comes this soon (under
/// load, this polling replaces the writers' notifications and their cost).
const LINGER: Duration = Duration::from_millis(5);

/// A look this soon after asking to be woken, for a transaction that was
/// committing while the relay asked (it read the lease before it was set).
const SETTLE: Duration = Duration::from_millis(25);

/// How often the backlog gauges are refreshed (counting is not free under a backlog).
const GAUGES_EVERY: Duration = Duration::from_secs(1);

/// Why a waiting relay looks at its outbox again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// A committed transaction wrote events.
    Notified,
    /// The listening connection was (re)made: notifications may have been missed.
    Listening,
    /// The short look after asking to be woken.
    Settle,
    /// The fallback poll.
    Poll,
}

impl Wake {
    fn label(self) -> &'static str {
        match self {
            Self::Notified => "notify",
            Self::Listening => "listen",
            Self::Settle => "settle",
            Self::Poll => "poll",
        }
    }
}

impl Relay {
    /// A relay with the default batch (100) and fallback poll (1 s).
    pub fn new(pool: PgPool, schema: &'static str, source: &str, bus: Arc<Bus>) -> Self {
        Self {
            pool,
            schema,
            source: source.into(),
            bus,
            batch: 100,
            poll_interval: Duration::from_secs(1),
            crash_after_ack: Default::default(),
        }
    }

    /// The channel writers notify on.
    pub fn channel(&self) -> String {
        format!("{}_outbox", self.schema)
    }

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
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(round);
        }
        let events: Vec<CloudEvent> = rows
            .into_iter()
            .map(|r| {
                CloudEvent::new(
                    r.id,
                    &self.source,
                    &r.event_type,
                    r.created_at,
                    &r.subject,
                    r.tenant_id,
                    r.payload,
                )
            })
            .collect();
        let outcomes = self.bus.publish_all(&events).await;
        let mut sent = Vec::with_capacity(events.len());
        let mut unroutable: Vec<(Uuid, &str)> = Vec::new();
        let mut failure = None;
        for (event, outcome) in events.iter().zip(outcomes) {
            match outcome {
                Ok(PublishOutcome::Delivered) => sent.push(event.id),
                Ok(PublishOutcome::Unroutable) => {
                    metrics::counter!("psa_outbox_unroutable_total", "schema" => schema)
                        .increment(1);
                    unroutable.push((event.id, &event.event_type));
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if self.crash_after_ack.load(Ordering::SeqCst) && !sent.is_empty() {
            return Err(RelayError::Crashed);
        }
        if !sent.is_empty() {
            sqlx::query(AssertSqlSafe(format!(
                "select {schema}.outbox_mark_sent($1)"
            )))
            .bind(&sent)
            .execute(&mut *tx)
            .await?;
        }
        if !unroutable.is_empty() {
            // The archive is bound to every type, so a return means the
            // broker's setup is broken: kept pending, retried with growing
            // delays (1 s … 5 min) rather than in a hot loop.
            let ids: Vec<Uuid> = unroutable.iter().map(|(id, _)| *id).collect();
            sqlx::query(AssertSqlSafe(format!("select {schema}.outbox_defer($1)")))
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            let types: std::collections::BTreeSet<&str> =
                unroutable.iter().map(|(_, t)| *t).collect();
            tracing::error!(schema, count = ids.len(), types = ?types, archive = %self.bus.archive(),
                "the broker returned events as unroutable although the archive takes every type: its setup is broken; kept pending, retried later");
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

    /// Asks writers to notify for the next `LISTEN_LEASE` (`None`: stops asking).
    async fn ask_to_be_woken(&self, lease: Option<Duration>) -> Result<(), sqlx::Error> {
        let lease = lease.map(|l| sqlx::postgres::types::PgInterval {
            months: 0,
            days: 0,
            microseconds: l.as_micros() as i64,
        });
        sqlx::query(AssertSqlSafe(format!(
            "select {}.outbox_listening($1)",
            self.schema
        )))
        .bind(lease)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Runs until the task is dropped: publishes what is due, then waits to
    /// be woken (or for the poll), and backs off (up to 5 s) while the broker
    /// or the database is away.
    pub async fn run(self) {
        let (signals, _listener) = listener(&self.pool, self.channel());
        let mut backoff = Duration::from_millis(100);
        let mut gauges_at = Instant::now();
        // Whether writers were asked to notify and the relay is busy again:
        // they are told to stop (each NOTIFY costs them) while it publishes.
        let mut stop_asking = false;
        loop {
            if gauges_at.elapsed() >= GAUGES_EVERY {
                gauges_at = Instant::now();
                let _ = self.record_backlog().await;
            }
            let round = if std::mem::take(&mut stop_asking) {
                tokio::join!(self.ask_to_be_woken(None), self.run_once()).1
            } else {
                self.run_once().await
            };
            // Publish until a round finds nothing due; while events keep
            // coming, look again shortly rather than have writers notify.
            match round {
                Ok(r) => {
                    backoff = Duration::from_millis(100);
                    if r.claimed as i64 >= self.batch {
                        continue;
                    }
                    if r.claimed > 0 {
                        tokio::time::sleep(LINGER).await;
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(schema = self.schema, error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay round failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            // Ask to be woken, then look once more: what committed while
            // asking did not notify.
            let asked = signals.listening.load(Ordering::SeqCst)
                && self.ask_to_be_woken(Some(LISTEN_LEASE)).await.is_ok();
            if asked && self.run_once().await.is_ok_and(|r| r.claimed > 0) {
                stop_asking = true;
                continue;
            }
            let mut wake = self.wait(&signals, asked.then_some(SETTLE)).await;
            if wake == Wake::Settle {
                metrics::counter!("psa_outbox_relay_wakeups_total", "schema" => self.schema, "cause" => wake.label()).increment(1);
                if self.run_once().await.is_ok_and(|r| r.claimed > 0) {
                    stop_asking = true;
                    continue;
                }
                wake = self.wait(&signals, None).await;
            }
            metrics::counter!("psa_outbox_relay_wakeups_total", "schema" => self.schema, "cause" => wake.label()).increment(1);
            stop_asking = asked;
        }
    }

    /// Waits for a notification, the listener's (re)connection, `settle`
    /// (when given) or the poll interval, renewing the lease meanwhile.
    async fn wait(&self, signals: &Signals, settle: Option<Duration>) -> Wake {
        let start = Instant::now();
        let poll_at = start + self.poll_interval;
        let settle_at = settle.map(|s| start + s);
        let mut renew_at = start + LISTEN_LEASE / 2;
        loop {
            let next = settle_at.unwrap_or(poll_at).min(poll_at).min(renew_at);
            tokio::select! {
                _ = signals.notified.notified() => return Wake::Notified,
                _ = signals.reconnected.notified() => return Wake::Listening,
                _ = tokio::time::sleep_until(next.into()) => {
                    if Some(next) == settle_at {
                        return Wake::Settle;
                    }
                    if next == poll_at {
                        return Wake::Poll;
                    }
                    if signals.listening.load(Ordering::SeqCst) {
                        let _ = self.ask_to_be_woken(Some(LISTEN_LEASE)).await;
                    }
                    renew_at += LISTEN_LEASE / 2;
                }
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
