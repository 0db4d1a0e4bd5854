//! A module's background tasks (outbox relay, consumers, housekeeping,
//! watches), named, and held in one way for every module: the runtime keeps
//! them alive exactly as long as the router it mounted, and they end when
//! that router is dropped (the process stops, or a test's server goes).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use psa_events::Bus;
use psa_events::outbox::{Consumer, Handler, Relay};

use crate::config::EventsConfig;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How often modules run their schema's housekeeping.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// How long a consumer waits before it reconnects to a broker that went away.
const CONSUMER_RESTART_PAUSE: Duration = Duration::from_secs(1);

struct Worker {
    name: String,
    handle: JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// What a module consumes from the bus: its durable queue, the patterns
/// bound to it, how often one message may fail before it is dead-lettered,
/// and the handler that applies an event (in the event's tenant, recorded
/// in the schema's inbox).
pub struct Subscription {
    pub queue: &'static str,
    pub patterns: &'static [&'static str],
    pub delivery_limit: u32,
    pub handler: Handler,
}

/// The background tasks of one module (or, once the runtime has collected
/// them, of every module it mounted). Dropping it aborts them.
pub struct Workers {
    module: &'static str,
    tasks: Vec<Worker>,
}

impl Workers {
    /// An empty set for `module`; worker names are prefixed with it.
    pub fn new(module: &'static str) -> Self {
        Self {
            module,
            tasks: Vec::new(),
        }
    }

    /// Runs `task` until the workers are dropped (it may also end by itself).
    pub fn spawn(&mut self, name: &str, task: impl Future<Output = ()> + Send + 'static) {
        let name = format!("{}.{name}", self.module);
        let span = tracing::info_span!("worker", name = %name);
        let handle = tokio::spawn(task.instrument(span));
        self.tasks.push(Worker { name, handle });
    }

    /// Runs `round` at once and then again `period` after each round ends.
    pub fn every<F, Fut>(&mut self, name: &str, period: Duration, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, async move {
            loop {
                round().await;
                tokio::time::sleep(period).await;
            }
        });
    }

    /// The schema's housekeeping (expired idempotency keys, old outbox and
    /// inbox rows, …) every [`HOUSEKEEPING_EVERY`]; failures are logged and
    /// the next round tries again.
    pub fn housekeeping(&mut self, pool: sqlx::PgPool, schema: &'static str) {
        self.every("housekeeping", HOUSEKEEPING_EVERY, move || {
            let pool = pool.clone();
            async move {
                match psa_db::housekeeping_once(&pool, schema).await {
                    Ok(deleted) => tracing::debug!(schema, %deleted, "housekeeping done"),
                    Err(e) => {
                        tracing::warn!(schema, error = %e, "housekeeping failed; retried later")
                    }
                }
            }
        });
    }

    /// Publishes a schema's outbox until dropped.
    pub fn relay(&mut self, relay: Relay) {
        self.spawn("relay", relay.run());
    }

    /// Consumes the durable queue `queue`, bound to `patterns`: declares it,
    /// runs the consumer `build` makes for it, and starts over (after a
    /// pause) whenever the broker goes away. A message that fails
    /// `delivery_limit` times is dead-lettered.
    pub fn consumer(
        &mut self,
        bus: Arc<Bus>,
        queue: &'static str,
        patterns: &'static [&'static str],
        delivery_limit: u32,
        build: impl Fn(String) -> Consumer + Send + 'static,
    ) {
        self.spawn(queue, async move {
            loop {
                match bus.declare_queue(queue, patterns, delivery_limit).await {
                    Ok(name) => {
                        if let Err(e) = build(name).run().await {
                            tracing::warn!(queue, error = %e, "consumer stopped; restarting");
                        }
                    }
                    Err(e) => tracing::warn!(queue, error = %e, "cannot declare the queue yet"),
                }
                tokio::time::sleep(CONSUMER_RESTART_PAUSE).await;
            }
        });
    }

    /// A module's events, when they are on: the relay publishing its
    /// schema's outbox and, if it consumes any, the consumer of its
    /// subscription (restarted whenever the broker goes away).
    pub fn events(
        &mut self,
        events: &EventsConfig,
        pool: &sqlx::PgPool,
        schema: &'static str,
        subscription: Option<Subscription>,
    ) {
        if !events.enabled {
            return;
        }
        let bus = Arc::new(Bus::new(events.bus()));
        self.relay(events.relay(pool.clone(), schema, self.module, bus.clone()));
        if let Some(s) = subscription {
            let (consumer_bus, pool, handler) = (bus.clone(), pool.clone(), s.handler);
            self.consumer(bus, s.queue, s.patterns, s.delivery_limit, move |queue| {
                Consumer {
                    bus: consumer_bus.clone(),
                    pool: pool.clone(),
                    schema,
                    queue,
                    handler: handler.clone(),
                }
            });
        }
    }

    /// Takes over `other`'s tasks (the runtime gathering every module's).
    pub fn append(&mut self, mut other: Workers) {
        self.tasks.append(&mut other.tasks);
    }

    /// `module.name` of every task, in the order they were started.
    pub fn names(&self) -> Vec<&str> {
        self.tasks.iter().map(|w| w.name.as_str()).collect()
    }

    /// The names of the tasks that have ended (finished, panicked or aborted).
    pub fn finished(&self) -> Vec<&str> {
        self.tasks
            .iter()
            .filter(|w| w.handle.is_finished())
            .map(|w| w.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn workers_run_until_dropped() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let mut workers = Workers::new("m");
        let r = rounds.clone();
        workers.every("tick", Duration::from_millis(1), move || {
            let (r, seen_tx) = (r.clone(), seen_tx.clone());
            async move {
                let n = r.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = seen_tx.send(n);
            }
        });
        let (forever_tx, forever) = tokio::sync::oneshot::channel::<()>();
        workers.spawn("idle", async move {
            let _hold = forever_tx;
            std::future::pending::<()>().await
        });
        let mut other = Workers::new("n");
        other.spawn("done", async {});
        workers.append(other);
        assert_eq!(workers.names(), ["m.tick", "m.idle", "n.done"]);

        while seen.recv().await.is_some_and(|n| n < 3) {}
        drop(workers);
        // The idle task is gone: its end of the channel was dropped with it.
        assert!(forever.await.is_err());
        // The ticker stopped: its sender went with the task, so the channel closes.
        while seen.recv().await.is_some() {}
    }
}
