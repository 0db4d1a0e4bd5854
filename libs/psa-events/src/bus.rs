//! RabbitMQ: one durable topic exchange, the archive stream every event
//! goes to, a dead-letter exchange and queue; publishing with publisher
//! confirms and `mandatory`, every wait bounded; reading the archive from a
//! point in time.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use lapin::{Confirmation, PublisherConfirm};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::envelope::CloudEvent;

#[derive(Debug, Clone)]
pub struct BusConfig {
    pub url: String,
    /// Prefix for exchange and queue names (tests isolate by it).
    pub prefix: String,
    pub timeout: Duration,
    /// When set, queues unused this long are deleted by the broker
    /// (`x-expires`) and exchanges are auto-delete: for throw-away
    /// environments such as tests, never for production topology. (The
    /// archive is a stream, which cannot expire: such environments delete it
    /// with [`Bus::delete_archive`].)
    pub queue_expiry: Option<Duration>,
    /// How long the archive keeps events (its `x-max-age`).
    pub archive_max_age: MaxAge,
}

/// A stream retention in RabbitMQ's notation: a number and one of `Y`,
/// `M`, `D`, `h`, `m`, `s` (`7D` is seven days).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct MaxAge(String);

impl TryFrom<String> for MaxAge {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let unit = s.chars().last().filter(|c| "YMDhms".contains(*c));
        let number = &s[..s.len().saturating_sub(1)];
        let positive = number.parse::<u32>().is_ok_and(|n| n > 0);
        if unit.is_some() && positive && number.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(format!(
                "{s:?} is not a retention: a positive number and a unit, one of Y M D h m s (e.g. 7D)"
            ))
        }
    }
}

impl fmt::Display for MaxAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum BusError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    #[error("the broker refused the message")]
    Nacked,
}

/// What happened to a published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Routed to at least one queue and confirmed.
    Delivered,
    /// Returned by the broker: not even the archive took it, so the broker's
    /// setup is broken (the relay keeps it pending and raises the alarm).
    Unroutable,
}

/// How many archived events a reader has unacknowledged at once (a stream
/// consumer needs a prefetch).
const ARCHIVE_PREFETCH: u16 = 500;

pub struct Bus {
    cfg: BusConfig,
    state: Mutex<Option<(Connection, Channel)>>,
    archive_declared: AtomicBool,
}

impl Bus {
    pub fn new(cfg: BusConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(None),
            archive_declared: AtomicBool::new(false),
        }
    }

    pub fn exchange(&self) -> String {
        format!("{}psa.events", self.cfg.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}psa.events.dlq", self.cfg.prefix)
    }

    /// The stream every event is routed to (bound to `#`), kept for
    /// `archive_max_age`.
    pub fn archive(&self) -> String {
        format!("{}psa.events.archive", self.cfg.prefix)
    }

    pub fn queue_name(&self, name: &str) -> String {
        format!("{}{name}", self.cfg.prefix)
    }

    async fn bounded<T, E: std::fmt::Display>(
        &self,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, BusError> {
        match tokio::time::timeout(self.cfg.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(BusError::Unavailable(e.to_string())),
            Err(_) => Err(BusError::Timeout(self.cfg.timeout)),
        }
    }

    /// A confirm-mode channel with the topology declared (reconnecting when needed).
    pub async fn channel(&self) -> Result<Channel, BusError> {
        let mut state = self.state.lock().await;
        if let Some((conn, ch)) = state.as_ref()
            && conn.status().connected()
            && ch.status().connected()
        {
            return Ok(ch.clone());
        }
        *state = None;
        let conn = self
            .bounded(Connection::connect(
                &self.cfg.url,
                ConnectionProperties::default(),
            ))
            .await?;
        let ch = self.bounded(conn.create_channel()).await?;
        self.bounded(ch.confirm_select(ConfirmSelectOptions::default()))
            .await?;
        self.declare_topology(&ch).await?;
        // A throw-away topology declares its archive once per bus: a test
        // deletes it when it ends, and a relay reconnecting after that must
        // not make it anew (a stream cannot expire: it would stay for good).
        if self.cfg.queue_expiry.is_none() || !self.archive_declared.load(Ordering::SeqCst) {
            self.declare_archive(&conn).await?;
            self.archive_declared.store(true, Ordering::SeqCst);
        }
        *state = Some((conn, ch.clone()));
        Ok(ch)
    }

    /// A new plain channel on the bus's connection (connecting when needed).
    async fn open_channel(&self) -> Result<Channel, BusError> {
        self.channel().await?;
        let state = self.state.lock().await;
        let (conn, _) = state
            .as_ref()
            .ok_or_else(|| BusError::Unavailable("the connection went away".into()))?;
        self.bounded(conn.create_channel()).await
    }

    /// The archive stream, bound to `#` on the exchange; idempotent. A
    /// stream's arguments cannot change once it exists: an archive declared
    /// with another retention stays as it is (with an error logged; change
    /// it with a RabbitMQ policy, or delete the stream to declare it anew).
    async fn declare_archive(&self, conn: &Connection) -> Result<(), BusError> {
        let archive = self.archive();
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("stream".into()),
        );
        args.insert(
            "x-max-age".into(),
            AMQPValue::LongString(self.cfg.archive_max_age.to_string().into()),
        );
        // A refused declaration closes its channel: use one of its own.
        let ch = self.bounded(conn.create_channel()).await?;
        let declared = self
            .bounded(ch.queue_declare(archive.clone().into(), QueueDeclareOptions::durable(), args))
            .await;
        let ch = match declared {
            Ok(_) => ch,
            Err(e) => {
                let ch = self.bounded(conn.create_channel()).await?;
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                };
                self.bounded(ch.queue_declare(
                    archive.clone().into(),
                    passive,
                    FieldTable::default(),
                ))
                .await
                .map_err(|_| e)?;
                tracing::error!(archive = %archive, max_age = %self.cfg.archive_max_age,
                    "the event archive exists with other arguments; kept as it is");
                ch
            }
        };
        self.bounded(ch.queue_bind(
            archive.into(),
            self.exchange().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        ))
        .await?;
        Ok(())
    }

    /// Deletes the archive stream (and every event in it): for throw-away
    /// environments, whose streams would otherwise pile up in the broker.
    pub async fn delete_archive(&self) -> Result<(), BusError> {
        // A connection of its own: the bus's declares the topology first.
        let conn = self
            .bounded(Connection::connect(
                &self.cfg.url,
                ConnectionProperties::default(),
            ))
            .await?;
        let ch = self.bounded(conn.create_channel()).await?;
        self.bounded(ch.queue_delete(self.archive().into(), QueueDeleteOptions::default()))
            .await?;
        let _ = self.bounded(conn.close(200, "OK".into())).await;
        Ok(())
    }

    /// Every archived event from `since` on (to the second; the broker
    /// starts at the stored chunk holding that time, so a few earlier events
    /// may come too), then each new one as it is published, for as long as
    /// the stream is polled. Only the events `keep` accepts are yielded.
    /// Order is publication order; the same event may appear more than once
    /// (a relay republishing after a crash), so readers deduplicate by id.
    pub async fn read_archive(
        &self,
        since: DateTime<Utc>,
        keep: impl Fn(&CloudEvent) -> bool + Send + 'static,
    ) -> Result<impl Stream<Item = Result<CloudEvent, BusError>> + Send + 'static, BusError> {
        let ch = self.open_channel().await?;
        self.bounded(ch.basic_qos(ARCHIVE_PREFETCH, BasicQosOptions::default()))
            .await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-stream-offset".into(),
            AMQPValue::Timestamp(since.timestamp().max(0) as u64),
        );
        let tag = format!("{}-reader-{}", self.archive(), Uuid::new_v4().simple());
        let deliveries = self
            .bounded(ch.basic_consume(
                self.archive().into(),
                tag.into(),
                BasicConsumeOptions::default(),
                args,
            ))
            .await?;
        Ok(deliveries.filter_map(move |delivery| {
            let parsed = delivery
                .map_err(|e| BusError::Unavailable(e.to_string()))
                .map(|d| {
                    let event = serde_json::from_slice::<CloudEvent>(&d.data);
                    (d, event)
                });
            let wanted = match &parsed {
                Ok((_, Ok(event))) => keep(event),
                _ => false,
            };
            async move {
                let (delivery, event) = match parsed {
                    Ok(p) => p,
                    Err(e) => return Some(Err(e)),
                };
                // A stream consumer must acknowledge to receive more.
                if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                    return Some(Err(BusError::Unavailable(e.to_string())));
                }
                match event {
                    Ok(event) => wanted.then_some(Ok(event)),
                    Err(e) => {
                        tracing::warn!(error = %e, "an archived message is not a CloudEvent; skipped");
                        None
                    }
                }
            }
        }))
    }

    /// The exchanges and the dead-letter queue; idempotent.
    async fn declare_topology(&self, ch: &Channel) -> Result<(), BusError> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            auto_delete: self.cfg.queue_expiry.is_some(),
            ..Default::default()
        };
        self.bounded(ch.exchange_declare(
            self.exchange().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        ))
        .await?;
        self.bounded(ch.exchange_declare(
            self.dead_letter_exchange().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        ))
        .await?;
        let dlq = self.dead_letter_exchange();
        self.bounded(ch.queue_declare(
            dlq.clone().into(),
            QueueDeclareOptions::durable(),
            self.quorum_args(None, None),
        ))
        .await?;
        self.bounded(ch.queue_bind(
            dlq.clone().into(),
            dlq.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        ))
        .await?;
        Ok(())
    }

    /// A durable quorum queue for one consumer purpose, bound to `patterns`,
    /// dead-lettering after `delivery_limit` failed deliveries.
    pub async fn declare_queue(
        &self,
        name: &str,
        patterns: &[&str],
        delivery_limit: u32,
    ) -> Result<String, BusError> {
        let ch = self.channel().await?;
        let queue = self.queue_name(name);
        let args = self.quorum_args(Some(delivery_limit), Some(&self.dead_letter_exchange()));
        self.bounded(ch.queue_declare(queue.clone().into(), QueueDeclareOptions::durable(), args))
            .await?;
        for p in patterns {
            self.bounded(ch.queue_bind(
                queue.clone().into(),
                self.exchange().into(),
                (*p).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ))
            .await?;
        }
        Ok(queue)
    }

    /// Publishes and waits for the broker's confirm (bounded).
    pub async fn publish(&self, event: &CloudEvent) -> Result<PublishOutcome, BusError> {
        self.publish_all(std::slice::from_ref(event))
            .await
            .pop()
            .unwrap_or(Err(BusError::Nacked))
    }

    /// Publishes every event, then waits for the broker's confirms of all of
    /// them together (bounded by one timeout): one outcome per event, in
    /// order. An event without a positive outcome was not sent (yet).
    pub async fn publish_all(
        &self,
        events: &[CloudEvent],
    ) -> Vec<Result<PublishOutcome, BusError>> {
        let ch = match self.channel().await {
            Ok(ch) => ch,
            Err(e) => return events.iter().map(|_| Err(e.clone())).collect(),
        };
        let pipelined = async {
            let mut confirms = Vec::with_capacity(events.len());
            for event in events {
                confirms.push(self.send(&ch, event).await?);
            }
            Ok::<_, BusError>(futures::future::join_all(confirms).await)
        };
        let outcomes: Vec<Result<PublishOutcome, BusError>> =
            match tokio::time::timeout(self.cfg.timeout, pipelined).await {
                Ok(Ok(confirmed)) => confirmed
                    .into_iter()
                    .map(|c| match c {
                        Ok(Confirmation::Ack(None)) => Ok(PublishOutcome::Delivered),
                        Ok(Confirmation::Ack(Some(_))) => Ok(PublishOutcome::Unroutable),
                        Ok(_) => Err(BusError::Nacked),
                        Err(e) => Err(BusError::Unavailable(e.to_string())),
                    })
                    .collect(),
                Ok(Err(e)) => events.iter().map(|_| Err(e.clone())).collect(),
                Err(_) => events
                    .iter()
                    .map(|_| Err(BusError::Timeout(self.cfg.timeout)))
                    .collect(),
            };
        if outcomes
            .iter()
            .any(|o| o.as_ref().is_err_and(|e| !matches!(e, BusError::Nacked)))
        {
            // Start over with a fresh connection next time.
            *self.state.lock().await = None;
        }
        outcomes
    }

    /// Hands one event to the broker (persistent, `mandatory`); the returned
    /// future resolves with its confirm.
    async fn send(&self, ch: &Channel, event: &CloudEvent) -> Result<PublisherConfirm, BusError> {
        let body = serde_json::to_vec(event).map_err(|e| BusError::Unavailable(e.to_string()))?;
        let props = BasicProperties::default()
            .with_message_id(event.id.to_string().into())
            .with_content_type("application/cloudevents+json".into())
            .with_delivery_mode(2)
            .with_timestamp(event.time.timestamp().max(0) as u64);
        let opts = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        ch.basic_publish(
            self.exchange().into(),
            event.event_type.clone().into(),
            opts,
            &body,
            props,
        )
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))
    }
}

impl Bus {
    /// Arguments of a quorum queue; delivery limit and dead-lettering are set
    /// explicitly so RabbitMQ 3.x and 4.x behave alike.
    fn quorum_args(&self, delivery_limit: Option<u32>, dlx: Option<&str>) -> FieldTable {
        let mut args = quorum_args(delivery_limit, dlx);
        if let Some(expiry) = self.cfg.queue_expiry {
            let ms = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX).max(1);
            args.insert("x-expires".into(), AMQPValue::LongLongInt(ms));
        }
        args
    }
}

fn quorum_args(delivery_limit: Option<u32>, dlx: Option<&str>) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    if let Some(limit) = delivery_limit {
        args.insert("x-delivery-limit".into(), AMQPValue::LongInt(limit as i32));
    }
    if let Some(dlx) = dlx {
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(dlx.into()),
        );
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_is_a_positive_number_and_a_unit_rabbitmq_knows() {
        for good in ["7D", "12h", "1Y", "30m", "90s", "6M"] {
            assert_eq!(MaxAge::try_from(good.to_owned()).unwrap().to_string(), good);
        }
        for bad in [
            "", "D", "0D", "7", "7d", "7 D", "-1D", "+7D", "7DD", "1.5h", "7days",
        ] {
            assert!(MaxAge::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
