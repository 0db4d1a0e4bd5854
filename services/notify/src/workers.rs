//! The notify module's background work: the consumer that fans events out
//! to subscriptions, the dispatcher that delivers them, the health check
//! that disables endpoints failing for days, catch-ups from the event
//! archive, the outbox relay and housekeeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use psa_authn::sealing::MasterKey;
use psa_events::outbox::Handler;
use psa_events::{Bus, CloudEvent};
use psa_kernel::{Store, Tx};
use psa_outbound::{Guard, Refusal};
use psa_runtime::config::{EventsConfig, NotifyConfig};
use psa_runtime::{Subscription, Workers};
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::domain::AttemptOutcome;
use crate::domain::delivery::kept;
use crate::domain::retry::{Next, Outcome, Schedule, retry_after};
use crate::domain::signing::signature_header;
use crate::domain::webhook::matches;
use crate::events::{CONSUMES, WEBHOOK_DISABLED, WebhookDisabled};
use crate::repo::deliveries::{self, After, AttemptRecord, Claimed, Due};
use crate::repo::webhooks;

/// The queue of the fan-out.
pub const FAN_OUT_QUEUE: &str = "notify.webhooks";
/// The Postgres channel a delivery that falls due now is announced on.
pub const CHANNEL: &str = "notify_deliveries";

/// Failed deliveries of one consumed event before it is dead-lettered.
pub const FAN_OUT_DELIVERY_LIMIT: u32 = 5;
/// How often failing endpoints are looked for.
const HEALTH_EVERY: Duration = Duration::from_secs(3600);
/// How often catch-ups are looked for.
const CATCH_UP_EVERY: Duration = Duration::from_secs(5);
/// An archive read ends when nothing comes for this long (its end).
const ARCHIVE_IDLE: Duration = Duration::from_secs(2);
/// A lease outlasts an attempt's time limit twice and this much (then
/// another dispatcher may take the delivery: its process died mid-attempt).
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Records one delivery of each event per matching subscription of the
/// event's tenant (the consumer's transaction is scoped to it).
pub fn handler() -> Handler {
    Arc::new(|event, conn| {
        async move {
            deliveries::fan_out(conn, &event)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        .boxed()
    })
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
    slots: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        keys: Arc<MasterKey>,
        guard: Arc<Guard>,
        config: Arc<NotifyConfig>,
    ) -> anyhow::Result<Self> {
        let client = guard.client(config.timeout())?;
        let schedule = Schedule {
            delays: config
                .retry_delays_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            max_retry_after: Duration::from_secs(config.max_retry_after_secs),
        };
        Ok(Self {
            store,
            keys,
            guard,
            client,
            schedule,
            slots: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            config,
        })
    }

    fn lease(&self) -> Duration {
        self.config.timeout() * 2 + LEASE_MARGIN
    }

    /// Runs until the task is dropped: claims what is due and free slots
    /// allow, attempts each in a task of its own, and waits to be woken
    /// (a delivery due now, a finished attempt) or for the next due time.
    pub async fn run(self: Arc<Self>) {
        let (signals, _listener) = psa_events::outbox::listener(&self.store.pool, CHANNEL.into());
        let finished = Arc::new(Notify::new());
        let mut backoff = Duration::from_millis(100);
        loop {
            let free = self.slots.available_permits();
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(list) => {
                        backoff = Duration::from_millis(100);
                        claimed = list.len();
                        for c in list {
                            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let (me, finished) = (self.clone(), finished.clone());
                            tokio::spawn(async move {
                                if let Err(e) = me.attempt(c).await {
                                    tracing::warn!(delivery = %c.id, error = %e, "a webhook attempt could not be recorded; retried when its lease ends");
                                }
                                drop(permit);
                                finished.notify_one();
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "claiming webhook deliveries failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            if free > 0 && claimed == free {
                continue;
            }
            let wait = match deliveries::next_due(&self.store.pool).await {
                Ok(Some(at)) => (at - Utc::now())
                    .to_std()
                    .ok()
                    .filter(|d| !d.is_zero())
                    .map_or(self.config.poll(), |d| d.min(self.config.poll())),
                _ => self.config.poll(),
            };
            tokio::select! {
                _ = signals.notified.notified() => {}
                _ = signals.reconnected.notified() => {}
                _ = finished.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn claim(&self, free: usize) -> Result<Vec<Claimed>, sqlx::Error> {
        deliveries::claim(
            &self.store.pool,
            i32::try_from(free).unwrap_or(i32::MAX),
            i32::try_from(self.config.per_endpoint_concurrency).unwrap_or(i32::MAX),
            self.lease(),
        )
        .await
    }

    /// One attempt of a claimed delivery: read it (no transaction is held
    /// while the receiver answers), send it, record the attempt and what
    /// follows. Returns the attempt's outcome (None: nothing was due).
    pub async fn attempt(&self, c: Claimed) -> anyhow::Result<Option<AttemptOutcome>> {
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
        let after = match next {
            Next::Delivered => After::Delivered,
            Next::Retry(at) => After::Retry(at),
            Next::Dead | Next::Disable => After::Dead,
        };
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
            disable(&mut tx, due.webhook_id, "the endpoint answered 410 Gone").await?;
        }
        tx.commit().await?;
        let label = match after {
            After::Delivered => "delivered",
            After::Retry(_) => "retry",
            After::Dead => "dead",
        };
        metrics::counter!("psa_webhook_attempts_total", "result" => label).increment(1);
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

/// A transport error as the delivery log shows it (no URL: it is in the subscription).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
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

/// Disables the subscription (if still enabled) and tells about it.
async fn disable(tx: &mut Tx, id: Uuid, reason: &str) -> anyhow::Result<bool> {
    let Some(webhook) = webhooks::disable(tx, id, reason).await? else {
        return Ok(false);
    };
    tracing::info!(webhook = %id, tenant = %tx.tenant(), reason, "webhook subscription disabled");
    tx.emit(
        &WEBHOOK_DISABLED,
        id,
        &WebhookDisabled {
            webhook,
            reason: reason.to_owned(),
        },
    )
    .await?;
    Ok(true)
}

/// Disables every subscription whose every delivery has failed for the
/// configured time as seen at `now`; returns how many.
pub async fn health_once(
    store: &Store,
    config: &NotifyConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let hours = config.disable_after_failing_hours;
    let cutoff = now - chrono::Duration::hours(hours);
    let reason = format!("every delivery failed for {hours} hours");
    let mut disabled = 0;
    for (tenant, id) in webhooks::failing(&store.pool, cutoff).await? {
        let mut tx = Tx::for_tenant(store, tenant).await?;
        disabled += disable(&mut tx, id, &reason).await? as usize;
        tx.commit().await?;
    }
    Ok(disabled)
}

/// Delivers the archived events each new subscription asked for (`since`):
/// those of its tenant and types, from its time on, up to its creation
/// (what came later the fan-out delivers; a delivery is made once either
/// way). Returns the deliveries added.
pub async fn catch_up_once(store: &Store, bus: &Bus) -> anyhow::Result<usize> {
    let mut added = 0;
    for (tenant, id) in webhooks::catching_up(&store.pool).await? {
        let mut tx = Tx::for_tenant(store, tenant).await?;
        let Some((from, created_at, patterns)) = webhooks::catch_up_of(&mut tx, id).await? else {
            continue;
        };
        tx.commit().await?;
        let mut archive = Box::pin(bus.read_archive(from, |_| true).await?);
        loop {
            let event: CloudEvent = match tokio::time::timeout(ARCHIVE_IDLE, archive.next()).await {
                Err(_) | Ok(None) => break,
                Ok(Some(event)) => event?,
            };
            if event.time > created_at {
                break;
            }
            if event.tenantid != tenant
                || event.time < from
                || !matches(&patterns, &event.event_type)
            {
                continue;
            }
            let mut tx = Tx::for_tenant(store, tenant).await?;
            added += deliveries::enqueue(&mut tx, id, &event, false)
                .await?
                .is_some() as usize;
            tx.commit().await?;
        }
        let mut tx = Tx::for_tenant(store, tenant).await?;
        webhooks::caught_up(&mut tx, id).await?;
        tx.commit().await?;
    }
    Ok(added)
}

pub fn start(
    store: &Store,
    config: &Arc<NotifyConfig>,
    events: &EventsConfig,
    dispatcher: Arc<Dispatcher>,
) -> Workers {
    let mut workers = Workers::new("notify");
    let pool = store.pool.clone();
    workers.housekeeping(pool.clone(), crate::DB.schema);
    workers.spawn("dispatcher", dispatcher.run());
    let (health_store, health_config) = (store.clone(), config.clone());
    workers.every("health", HEALTH_EVERY, move || {
        let (store, config) = (health_store.clone(), health_config.clone());
        async move {
            if let Err(e) = health_once(&store, &config, Utc::now()).await {
                tracing::warn!(error = %e, "the webhook health check failed");
            }
        }
    });
    if events.enabled {
        let (catch_up_store, bus) = (store.clone(), Arc::new(Bus::new(events.bus())));
        workers.every("catch-up", CATCH_UP_EVERY, move || {
            let (store, bus) = (catch_up_store.clone(), bus.clone());
            async move {
                if let Err(e) = catch_up_once(&store, &bus).await {
                    tracing::warn!(error = %e, "a webhook catch-up from the archive failed; tried again");
                }
            }
        });
    }
    workers.events(
        events,
        &pool,
        crate::DB.schema,
        Some(Subscription {
            queue: FAN_OUT_QUEUE,
            patterns: CONSUMES,
            delivery_limit: FAN_OUT_DELIVERY_LIMIT,
            handler: handler(),
        }),
    );
    workers
}
