//! Waking a worker when work commits: a task that `LISTEN`s on a Postgres
//! channel on a connection of its own and signals each notification (the
//! outbox relay's wake-up, notify's dispatchers').

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::Notify;

/// What a listening task ([`listener`]) tells the worker it wakes.
#[derive(Default)]
pub struct Signals {
    /// A notification arrived.
    pub notified: Notify,
    /// The listener (re)connected: notifications sent meanwhile are lost,
    /// so the worker looks.
    pub reconnected: Notify,
    /// Whether the listener is connected now.
    pub listening: AtomicBool,
}

/// Aborts a task when dropped (a worker's listener goes with the worker).
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

/// Listens on the Postgres channel `channel` (on a connection of its own,
/// reconnecting while the database is away) until the returned guard is
/// dropped: a worker waits on the signals for work that committed.
pub fn listener(pool: &PgPool, channel: String) -> (Arc<Signals>, AbortOnDrop) {
    let signals = Arc::new(Signals::default());
    let task = tokio::spawn(listen(pool.clone(), channel, signals.clone()));
    (signals, AbortOnDrop(task))
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listens on `channel` on a connection of its own (not one of the pool's
/// request connections), signalling each notification; reconnects with a
/// growing pause, signalling each (re)connection, after which the worker looks.
async fn listen(pool: PgPool, channel: String, signals: Arc<Signals>) {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut pause = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&own).await?;
            l.listen(&channel).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match listener.await {
            Ok(mut l) => {
                pause = Duration::from_millis(100);
                signals.listening.store(true, Ordering::SeqCst);
                signals.reconnected.notify_one();
                loop {
                    match l.try_recv().await {
                        Ok(Some(_)) => signals.notified.notify_one(),
                        // Lost and made again: what was sent meanwhile is lost.
                        Ok(None) => signals.reconnected.notify_one(),
                        Err(e) => {
                            tracing::warn!(%channel, error = %e, "listening for notifications failed; polling until it works again");
                            break;
                        }
                    }
                }
                signals.listening.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::warn!(%channel, error = %e, retry_in_ms = pause.as_millis() as u64, "cannot listen for notifications yet; polling meanwhile")
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
