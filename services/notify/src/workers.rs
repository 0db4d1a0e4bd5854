//! The notify module's background work: the consumer that keeps the
//! projections and fans events out to webhook subscriptions and rules, the
//! two dispatchers ([`crate::dispatch`]) and the loop they run in, the
//! digests of held messages, the health check that disables endpoints
//! failing for days, catch-ups from the event archive, the outbox relay
//! and housekeeping.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use psa_events::outbox::Handler;
use psa_events::{Bus, CloudEvent};
use psa_kernel::{Store, Tx};
use psa_runtime::config::{EventsConfig, NotifyConfig};
use psa_runtime::{Subscription, Workers};
use sqlx::PgConnection;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::dispatch::{Dispatcher, Mailer};
use crate::domain::webhook::matches;
use crate::events::{CONSUMES, WEBHOOK_DISABLED, WebhookDisabled};
use crate::repo::deliveries::{self, Claimed};
use crate::repo::messages::{self, Cap};
use crate::repo::{projection, webhooks};

/// The queue of the fan-out.
pub const FAN_OUT_QUEUE: &str = "notify.webhooks";

/// Failed deliveries of one consumed event before it is dead-lettered.
pub const FAN_OUT_DELIVERY_LIMIT: u32 = 5;
/// How often failing endpoints are looked for.
const HEALTH_EVERY: Duration = Duration::from_secs(3600);
/// How often catch-ups are looked for.
const CATCH_UP_EVERY: Duration = Duration::from_secs(5);
/// An archive read ends when nothing comes for this long (its end).
const ARCHIVE_IDLE: Duration = Duration::from_secs(2);

/// Applies one event in its tenant's transaction: users (auth) and
/// contacts (CRM) into the projections, then one webhook delivery per
/// matching subscription and one message per recipient of each matching
/// rule.
pub async fn handle(conn: &mut PgConnection, event: &CloudEvent, cap: Cap) -> Result<(), String> {
    use psa_auth::events::{USER_CREATED, USER_UPDATED};
    use psa_crm::events::CONTACT;
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", event.event_type);
    if let Some(t) = psa_events::catalog::one_of(&event.event_type, [USER_CREATED, USER_UPDATED]) {
        let user = t.decode(&event.data).map_err(|e| failed(&e))?;
        projection::upsert_user(conn, &user)
            .await
            .map_err(|e| failed(&e))?;
    } else if let Some(contact) = CONTACT.decode(&event.event_type, &event.data) {
        let (contact, deleted) = contact.map_err(|e| failed(&e))?;
        projection::upsert_contact(conn, &contact, deleted)
            .await
            .map_err(|e| failed(&e))?;
    }
    deliveries::fan_out(conn, event)
        .await
        .map_err(|e| failed(&e))?;
    messages::fan_out(conn, event, cap)
        .await
        .map_err(|e| failed(&e))?;
    Ok(())
}

pub fn handler(cap: Cap) -> Handler {
    Arc::new(move |event, conn| async move { handle(conn, &event, cap).await }.boxed())
}

/// The recipients' cap of the configuration.
pub fn cap(config: &NotifyConfig) -> Cap {
    Cap {
        messages: config.recipient_cap,
        window: chrono::Duration::seconds(config.recipient_cap_window_secs),
    }
}

/// A durable queue of due work (webhook deliveries, channel messages),
/// claimed with `SKIP LOCKED` by the dispatchers of every process.
pub trait Queue: Send + Sync + 'static {
    /// The Postgres channel that announces work due now.
    const CHANNEL: &'static str;
    /// What the logs call it.
    const NAME: &'static str;
    fn pool(&self) -> &sqlx::PgPool;
    /// Leases up to `free` due items.
    fn claim(&self, free: usize) -> impl Future<Output = Result<Vec<Claimed>, sqlx::Error>> + Send;
    /// When the next item falls due.
    fn next_due(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, sqlx::Error>> + Send;
    /// One attempt of a claimed item, recorded.
    fn attempt(&self, c: Claimed) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Works through `queue` until the task is dropped: claims what is due and
/// `slots` allow, attempts each in a task of its own, and waits to be woken
/// (work due now, a finished attempt) or for the next due time (`poll` at
/// the longest).
pub async fn run<Q: Queue>(queue: Arc<Q>, slots: Arc<Semaphore>, poll: Duration) {
    let (signals, _listener) = psa_events::listen::listener(queue.pool(), Q::CHANNEL.into());
    let finished = Arc::new(Notify::new());
    let mut backoff = Duration::from_millis(100);
    loop {
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match queue.claim(free).await {
                Ok(list) => {
                    backoff = Duration::from_millis(100);
                    claimed = list.len();
                    for c in list {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            break;
                        };
                        let (queue, finished) = (queue.clone(), finished.clone());
                        tokio::spawn(async move {
                            if let Err(e) = queue.attempt(c).await {
                                tracing::warn!(queue = Q::NAME, item = %c.id, error = %e, "an attempt could not be recorded; retried when its lease ends");
                            }
                            drop(permit);
                            finished.notify_one();
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(queue = Q::NAME, error = %e, retry_in_ms = backoff.as_millis() as u64, "claiming due work failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        if free > 0 && claimed == free {
            continue;
        }
        let wait = match queue.next_due().await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .ok()
                .filter(|d| !d.is_zero())
                .map_or(poll, |d| d.min(poll)),
            _ => poll,
        };
        tokio::select! {
            _ = signals.notified.notified() => {}
            _ = signals.reconnected.notified() => {}
            _ = finished.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Disables the subscription (if still enabled) and tells about it.
pub(crate) async fn disable(tx: &mut Tx, id: Uuid, reason: &str) -> anyhow::Result<bool> {
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

/// Folds every recipient's held messages into one digest each; returns
/// how many messages were folded.
pub async fn digest_once(store: &Store) -> anyhow::Result<usize> {
    let mut folded = 0;
    for (tenant, channel, recipient) in messages::held(&store.pool).await? {
        let mut tx = Tx::for_tenant(store, tenant).await?;
        folded += messages::digest(&mut tx, channel, &recipient).await?;
        tx.commit().await?;
    }
    Ok(folded)
}

pub fn start(
    store: &Store,
    config: &Arc<NotifyConfig>,
    events: &EventsConfig,
    dispatcher: Dispatcher,
    mailer: Mailer,
) -> Workers {
    let mut workers = Workers::new("notify");
    let pool = store.pool.clone();
    workers.housekeeping(pool.clone(), crate::DB.schema);
    let slots = || Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    workers.spawn(
        "webhooks",
        run(Arc::new(dispatcher), slots(), config.poll()),
    );
    workers.spawn(
        "notifications",
        run(Arc::new(mailer), slots(), config.poll()),
    );
    let digest_store = store.clone();
    let window =
        Duration::from_secs(u64::try_from(config.recipient_cap_window_secs).unwrap_or(600));
    workers.every("digests", window, move || {
        let store = digest_store.clone();
        async move {
            if let Err(e) = digest_once(&store).await {
                tracing::warn!(error = %e, "digests failed; tried again");
            }
        }
    });
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
            handler: handler(cap(config)),
        }),
    );
    workers
}
