//! The two dispatchers: webhook deliveries (signed per Standard Webhooks)
//! and channel messages (e-mail, Teams, SMS), each a [`Queue`] the
//! runtime's loop ([`crate::workers::run`]) works through. Both record
//! every attempt and follow the same retry policy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use psa_authn::sealing::MasterKey;
use psa_kernel::{Store, Tx};
use psa_outbound::{Guard, Refusal};
use psa_runtime::config::NotifyConfig;

use crate::domain::AttemptOutcome;
use crate::domain::delivery::kept;
use crate::domain::retry::{Next, Outcome, Schedule, retry_after};
use crate::domain::signing::signature_header;
use crate::repo::deliveries::{self, After, AttemptRecord, Claimed, Due};
use crate::repo::{messages, webhooks};
use crate::senders::Senders;
use crate::workers::Queue;

/// A lease outlasts an attempt's time limit twice and this much (then
/// another dispatcher may take the item: its process died mid-attempt).
const LEASE_MARGIN: Duration = Duration::from_secs(5);

fn lease(config: &NotifyConfig) -> Duration {
    config.timeout() * 2 + LEASE_MARGIN
}

/// The retry schedule of the configuration.
fn schedule(config: &NotifyConfig) -> Schedule {
    Schedule {
        delays: config
            .retry_delays_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
        max_retry_after: Duration::from_secs(config.max_retry_after_secs),
    }
}

fn after(next: Next) -> After {
    match next {
        Next::Delivered => After::Delivered,
        Next::Retry(at) => After::Retry(at),
        Next::Dead | Next::Disable => After::Dead,
    }
}

fn label(after: After) -> &'static str {
    match after {
        After::Delivered => "delivered",
        After::Retry(_) => "retry",
        After::Dead => "dead",
    }
}

/// What one HTTP attempt came to.
#[derive(Debug)]
pub struct Sent {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub duration: Duration,
    pub error: Option<String>,
    pub body: Option<String>,
}

/// Delivers due deliveries of every tenant, concurrently: at most
/// `max_in_flight` attempts in this process and `per_endpoint_concurrency`
/// per subscription across processes (claims count leases), so a slow
/// receiver holds only its own slots.
pub struct Dispatcher {
    store: Store,
    keys: Arc<MasterKey>,
    guard: Arc<Guard>,
    client: reqwest::Client,
    schedule: Schedule,
    config: Arc<NotifyConfig>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        keys: Arc<MasterKey>,
        guard: Arc<Guard>,
        config: Arc<NotifyConfig>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            client: guard.client(config.timeout())?,
            schedule: schedule(&config),
            store,
            keys,
            guard,
            config,
        })
    }

    async fn claim_due(&self, free: usize) -> Result<Vec<Claimed>, sqlx::Error> {
        deliveries::claim(
            &self.store.pool,
            i32::try_from(free).unwrap_or(i32::MAX),
            i32::try_from(self.config.per_endpoint_concurrency).unwrap_or(i32::MAX),
            lease(&self.config),
        )
        .await
    }

    /// One attempt of a claimed delivery: read it (no transaction is held
    /// while the receiver answers), send it, record the attempt and what
    /// follows. Returns the attempt's outcome (None: nothing was due).
    pub async fn deliver(&self, c: Claimed) -> anyhow::Result<Option<AttemptOutcome>> {
        let mut tx = Tx::for_tenant(&self.store, c.tenant).await?;
        let Some(due) = deliveries::due(&mut tx, c.id).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        if !due.enabled {
            deliveries::release(&mut tx, c.id).await?;
            tx.commit().await?;
            return Ok(None);
        }
        tx.commit().await?;

        let sent = self.send(&due).await;
        let now = Utc::now();
        let attempt_no = usize::try_from(due.round_attempts).unwrap_or(0) + 1;
        let next = self.schedule.next(sent.outcome, attempt_no, now, jitter());
        let after = after(next);
        let outcome = match (sent.outcome, sent.status) {
            (Outcome::Delivered, _) => AttemptOutcome::Delivered,
            (_, Some(_)) => AttemptOutcome::Failed,
            (_, None) => AttemptOutcome::Error,
        };
        let mut tx = Tx::for_tenant(&self.store, c.tenant).await?;
        let record = AttemptRecord {
            delivery: &due,
            outcome,
            status_code: sent.status.map(i32::from),
            duration_ms: i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX),
            error: sent.error,
            response_body: sent.body,
            at: now,
        };
        deliveries::record(&mut tx, &record, after).await?;
        webhooks::note_outcome(
            &mut tx,
            due.webhook_id,
            outcome == AttemptOutcome::Delivered,
            now,
        )
        .await?;
        if next == Next::Disable {
            crate::workers::disable(&mut tx, due.webhook_id, "the endpoint answered 410 Gone")
                .await?;
        }
        tx.commit().await?;
        metrics::counter!("psa_webhook_attempts_total", "result" => label(after)).increment(1);
        Ok(Some(outcome))
    }

    /// Sends one signed request and reads what the receiver answered.
    async fn send(&self, due: &Due) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent {
            outcome: Outcome::Error,
            status: None,
            duration: started.elapsed(),
            error: Some(error),
            body: None,
        };
        let mut keys = match self.keys.decrypt(&due.secret) {
            Ok(k) => vec![k],
            Err(_) => {
                return failed(
                    "the signing secret cannot be unsealed with this deployment's master key"
                        .into(),
                );
            }
        };
        if let Some(old) = due
            .previous_secret
            .as_deref()
            .and_then(|s| self.keys.decrypt(s).ok())
        {
            keys.push(old);
        }
        // IP literals reach no resolver: the guard sees them here.
        let url = match self.guard.check_url(&due.url) {
            Ok(u) => u,
            Err(r) => return failed(format!("refused: {r}")),
        };
        let id = due.event_id.to_string();
        let timestamp = Utc::now().timestamp();
        let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let signature = signature_header(&key_refs, &id, timestamp, &due.body);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(due.body.clone())
            .send()
            .await;
        let mut response = match response {
            Ok(r) => r,
            Err(e) => return failed(describe(&e, self.config.timeout())),
        };
        let status = response.status().as_u16();
        let asked = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, Utc::now()));
        let mut body = Vec::new();
        let mut error = None;
        while body.len() < crate::domain::delivery::RESPONSE_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = Some(describe(&e, self.config.timeout()));
                    break;
                }
            }
        }
        let outcome = Outcome::of_status(status, asked);
        if error.is_none() && outcome != Outcome::Delivered {
            error = Some(match status {
                300..=399 => format!("answered {status} (redirects are not followed)"),
                _ => format!("answered {status}"),
            });
        }
        Sent {
            outcome,
            status: Some(status),
            duration: started.elapsed(),
            error,
            body: Some(kept(&body)),
        }
    }
}

/// A transport error as the log shows it (no URL: it is in the subscription).
pub(crate) fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut causes = Vec::new();
    while let Some(err) = source {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return format!("refused: {r}");
        }
        causes.push(err.to_string());
        source = err.source();
    }
    causes.pop().unwrap_or_default()
}

/// A number in [0, 1) for the retry jitter.
fn jitter() -> f64 {
    f64::from(u32::from_le_bytes(psa_authn::sealing::random_bytes::<4>()))
        / (f64::from(u32::MAX) + 1.0)
}

impl Queue for Dispatcher {
    const CHANNEL: &'static str = "notify_deliveries";
    const NAME: &'static str = "webhooks";

    fn pool(&self) -> &sqlx::PgPool {
        &self.store.pool
    }

    async fn claim(&self, free: usize) -> Result<Vec<Claimed>, sqlx::Error> {
        self.claim_due(free).await
    }

    async fn next_due(&self) -> Result<Option<chrono::DateTime<Utc>>, sqlx::Error> {
        deliveries::next_due(&self.store.pool).await
    }

    async fn attempt(&self, c: Claimed) -> anyhow::Result<()> {
        self.deliver(c).await.map(|_| ())
    }
}

/// Sends due channel messages of every tenant (at most `max_in_flight` at
/// once in this process, shared with nothing else).
pub struct Mailer {
    store: Store,
    keys: Arc<MasterKey>,
    senders: Senders,
    schedule: Schedule,
    config: Arc<NotifyConfig>,
}

impl Mailer {
    pub fn new(
        store: Store,
        keys: Arc<MasterKey>,
        guard: Arc<Guard>,
        config: Arc<NotifyConfig>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            senders: Senders::new(guard, config.timeout(), config.outbound.allow_http)?,
            schedule: schedule(&config),
            store,
            keys,
            config,
        })
    }

    /// One attempt of a claimed message (None: nothing was due).
    pub async fn send(&self, c: Claimed) -> anyhow::Result<Option<AttemptOutcome>> {
        let mut tx = Tx::for_tenant(&self.store, c.tenant).await?;
        let Some(due) = messages::due(&mut tx, c.id).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        if !due.enabled {
            messages::release(&mut tx, c.id).await?;
            tx.commit().await?;
            return Ok(None);
        }
        tx.commit().await?;
        let secret = match &due.secret {
            Some(sealed) => self
                .keys
                .decrypt(sealed)
                .ok()
                .and_then(|s| String::from_utf8(s).ok()),
            None => None,
        };
        let sent = self.senders.send(&due, secret.as_deref()).await;
        let attempt_no = usize::try_from(due.round_attempts).unwrap_or(0) + 1;
        let after = after(
            self.schedule
                .next(sent.outcome, attempt_no, Utc::now(), jitter()),
        );
        let outcome = match (sent.outcome, sent.answered) {
            (Outcome::Delivered, _) => AttemptOutcome::Delivered,
            (_, true) => AttemptOutcome::Failed,
            (_, false) => AttemptOutcome::Error,
        };
        let mut tx = Tx::for_tenant(&self.store, c.tenant).await?;
        messages::record(
            &mut tx,
            &due,
            outcome,
            sent.detail.as_deref(),
            i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX),
            sent.error.as_deref(),
            after,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("psa_notification_attempts_total", "kind" => format!("{:?}", due.kind).to_lowercase(), "result" => label(after)).increment(1);
        Ok(Some(outcome))
    }
}

impl Queue for Mailer {
    const CHANNEL: &'static str = "notify_messages";
    const NAME: &'static str = "notifications";

    fn pool(&self) -> &sqlx::PgPool {
        &self.store.pool
    }

    async fn claim(&self, free: usize) -> Result<Vec<Claimed>, sqlx::Error> {
        messages::claim(
            &self.store.pool,
            i32::try_from(free).unwrap_or(i32::MAX),
            lease(&self.config),
        )
        .await
    }

    async fn next_due(&self) -> Result<Option<chrono::DateTime<Utc>>, sqlx::Error> {
        messages::next_due(&self.store.pool).await
    }

    async fn attempt(&self, c: Claimed) -> anyhow::Result<()> {
        self.send(c).await.map(|_| ())
    }
}
