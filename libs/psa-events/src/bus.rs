//! RabbitMQ: one durable topic exchange, a dead-letter exchange and queue,
//! publishing with publisher confirms and `mandatory`, every wait bounded.

use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use crate::envelope::CloudEvent;

#[derive(Debug, Clone)]
pub struct BusConfig {
    pub url: String,
    /// Prefix for exchange and queue names (tests isolate by it).
    pub prefix: String,
    pub timeout: Duration,
    /// When set, queues unused this long are deleted by the broker
    /// (`x-expires`) and exchanges are auto-delete: for throw-away
    /// environments such as tests, never for production topology.
    pub queue_expiry: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
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
    /// No queue is bound for its type; it stays pending.
    Unroutable,
}

pub struct Bus {
    cfg: BusConfig,
    state: Mutex<Option<(Connection, Channel)>>,
}

impl Bus {
    pub fn new(cfg: BusConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(None),
        }
    }

    pub fn exchange(&self) -> String {
        format!("{}psa.events", self.cfg.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}psa.events.dlq", self.cfg.prefix)
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
        *state = Some((conn, ch.clone()));
        Ok(ch)
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
        let ch = self.channel().await?;
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
        let result = async {
            let confirm = ch
                .basic_publish(
                    self.exchange().into(),
                    event.event_type.clone().into(),
                    opts,
                    &body,
                    props,
                )
                .await
                .map_err(|e| BusError::Unavailable(e.to_string()))?;
            confirm
                .await
                .map_err(|e| BusError::Unavailable(e.to_string()))
        };
        let confirmation = match tokio::time::timeout(self.cfg.timeout, result).await {
            Ok(r) => r,
            Err(_) => Err(BusError::Timeout(self.cfg.timeout)),
        };
        match confirmation {
            Ok(c) if c.is_ack() => Ok(if c.take_message().is_some() {
                PublishOutcome::Unroutable
            } else {
                PublishOutcome::Delivered
            }),
            Ok(_) => Err(BusError::Nacked),
            Err(e) => {
                // Start over with a fresh connection next time.
                *self.state.lock().await = None;
                Err(e)
            }
        }
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
