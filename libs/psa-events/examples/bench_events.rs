//! Commit → delivery latency and outbox drain time of the event path, on
//! the real pieces: the platform template's outbox (with its wake-up on
//! commit), the relay as modules run it, RabbitMQ with the archive stream,
//! and a consumer's quorum queue bound to `#`. Writers insert events the
//! way the kernel's `Tx::emit` does (a tenant transaction, `outbox::enqueue`,
//! commit); the consumer notes when each arrives.
//!
//! Run through `scripts/bench-events` (release build), which prepares
//! Postgres and RabbitMQ:
//!   bench_events [rate-per-second] [steady-seconds] [burst-seconds] [burst-writers]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use psa_db::{DatabaseConfig, ModuleDb, PlatformPart};
use psa_events::outbox::{self, Relay};
use psa_events::{Bus, BusConfig, CloudEvent, MaxAge};
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use uuid::Uuid;

const DATABASE: &str = "psa_bench_events";
const SCHEMA: &str = "bench";

static NO_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| Migrator::with_migrations(vec![]));

/// When each event committed (as its writer saw the commit return) and
/// when the consumer received it.
#[derive(Default)]
struct Clock {
    committed: Mutex<HashMap<Uuid, Instant>>,
    received: Mutex<HashMap<Uuid, Instant>>,
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> AnyResult<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("numbers: rate, steady seconds, burst seconds, burst writers")
        })
        .collect();
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (rate, steady_secs, burst_secs, burst_writers) =
        (arg(0, 200), arg(1, 15), arg(2, 8), arg(3, 16));

    let admin_url = std::env::var("PSA_DATABASE__ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/psa".into());
    let server = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(s, _)| s);
    let db_url = format!("{server}/{DATABASE}");
    let pool = prepare_database(server, &db_url).await?;

    let amqp = std::env::var("PSA_EVENTS__AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let bus_config = BusConfig {
        url: amqp,
        prefix: format!("psa.bench.{}.", Uuid::new_v4().simple()),
        timeout: Duration::from_secs(5),
        // Throw-away topology: queues expire, the archive is deleted below.
        queue_expiry: Some(Duration::from_secs(300)),
        archive_max_age: MaxAge::try_from("1h".to_owned())?,
    };
    let consumer_bus = Bus::new(bus_config.clone());
    let queue = consumer_bus
        .declare_queue("bench.consumer", &["#"], 5)
        .await?;

    let clock = Arc::new(Clock::default());
    let consumer = tokio::spawn(consume(consumer_bus, queue, clock.clone()));
    let relay_bus = Arc::new(Bus::new(bus_config.clone()));
    let relay = tokio::spawn(
        Relay {
            batch: 100,
            poll_interval: Duration::from_secs(1),
            ..Relay::new(pool.clone(), SCHEMA, "psa/bench", relay_bus)
        }
        .run(),
    );
    let tenants: Vec<Uuid> = (0..16).map(|_| Uuid::now_v7()).collect();

    println!("warm-up: 2 s at {rate}/s");
    steady(&pool, &tenants, &clock, rate, 2).await;
    wait_received(&clock, Duration::from_secs(30)).await;
    clock.committed.lock().unwrap().clear();
    clock.received.lock().unwrap().clear();

    println!("steady: {steady_secs} s at {rate} writes/s");
    steady(&pool, &tenants, &clock, rate, steady_secs).await;
    let complete = wait_received(&clock, Duration::from_secs(30)).await;
    let mut latencies: Vec<Duration> = {
        let committed = clock.committed.lock().unwrap();
        let received = clock.received.lock().unwrap();
        committed
            .iter()
            .filter_map(|(id, c)| received.get(id).map(|r| r.saturating_duration_since(*c)))
            .collect()
    };
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "commit -> delivery at {rate}/s: n={} p50={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms{}",
        latencies.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0),
        if complete {
            ""
        } else {
            " (NOT all delivered within 30 s)"
        }
    );

    println!("burst: {burst_secs} s of full-speed writes by {burst_writers} writers");
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let writers: Vec<_> = (0..burst_writers)
        .map(|w| {
            let (pool, written, stop) = (pool.clone(), written.clone(), stop.clone());
            let tenant = tenants[w as usize % tenants.len()];
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if write(&pool, tenant).await.is_ok() {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(burst_secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await?;
    }
    let writes_done = Instant::now();
    let total = written.load(Ordering::Relaxed);
    let backlog = pending(&pool).await?;
    println!(
        "burst wrote {total} events ({:.0}/s); {backlog} pending when the writes stopped",
        total as f64 / (writes_done - start).as_secs_f64()
    );
    let drained = loop {
        if pending(&pool).await? == 0 {
            break Some(writes_done.elapsed());
        }
        if writes_done.elapsed() > Duration::from_secs(120) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    match drained {
        Some(d) => println!(
            "outbox drained {:.2} s after the writes stopped",
            d.as_secs_f64()
        ),
        None => println!("outbox NOT drained within 120 s"),
    }

    relay.abort();
    consumer.abort();
    Bus::new(bus_config).delete_archive().await?;
    pool.close().await;
    let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(AssertSqlSafe(format!(
        "drop database if exists {DATABASE} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// A new database with one module schema holding the platform's outbox.
async fn prepare_database(server: &str, db_url: &str) -> AnyResult<PgPool> {
    let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(AssertSqlSafe(format!(
        "drop database if exists {DATABASE} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    psa_db::ensure_database(db_url).await?;
    let module = ModuleDb {
        module: "bench",
        schema: SCHEMA,
        role: "psa_bench",
        migrator: &NO_MIGRATIONS,
        platform: &[PlatformPart::Outbox],
    };
    let mut conn = PgConnection::connect(db_url).await?;
    psa_db::migrate_module(&mut conn, &module, None).await?;
    // The relay and the writers connect as the admin role here: the bench
    // measures the event path, not the module roles' grants.
    let cfg = DatabaseConfig {
        admin_url: db_url.into(),
        url: db_url.into(),
        max_connections: 24,
        acquire_timeout_ms: 5000,
        role_passwords: Default::default(),
    };
    let user = sqlx::query_scalar::<_, String>("select current_user::text")
        .fetch_one(&mut conn)
        .await?;
    let pool = psa_db::module_pool(
        &cfg,
        &ModuleDb {
            role: Box::leak(user.into_boxed_str()),
            ..module
        },
    )?;
    Ok(pool)
}

/// One write as a module makes it: a tenant transaction with an event, committed.
async fn write(pool: &PgPool, tenant: Uuid) -> Result<Uuid, sqlx::Error> {
    let mut tx = psa_db::begin_tenant(pool, tenant).await?;
    let subject = Uuid::now_v7();
    let now = chrono::Utc::now();
    let data = json!({
        "id": subject, "number": "T-000123", "title": "Printer on fire", "status": "new",
        "priority": "normal", "customer_id": Uuid::now_v7(), "contract_id": null,
        "assignee_id": null, "description": "The printer on the second floor is on fire again.",
        "response_due_at": now, "resolution_due_at": now, "version": 1,
        "created_at": now, "updated_at": now,
    });
    let id = outbox::enqueue(&mut tx, SCHEMA, "ticket.created", subject, &data).await?;
    tx.commit().await?;
    Ok(id)
}

/// Writes at `rate` per second for `secs` seconds (each write on its own
/// task, so a slow commit does not delay the next one), noting each commit.
async fn steady(pool: &PgPool, tenants: &[Uuid], clock: &Arc<Clock>, rate: u64, secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for i in 0..rate * secs {
        tick.tick().await;
        let (pool, clock) = (pool.clone(), clock.clone());
        let tenant = tenants[i as usize % tenants.len()];
        tasks.push(tokio::spawn(async move {
            match write(&pool, tenant).await {
                Ok(id) => {
                    clock.committed.lock().unwrap().insert(id, Instant::now());
                }
                Err(e) => eprintln!("write failed: {e}"),
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Waits until every committed event was received (true) or `within` passed.
async fn wait_received(clock: &Clock, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let all = {
            let committed = clock.committed.lock().unwrap();
            let received = clock.received.lock().unwrap();
            committed.keys().all(|id| received.contains_key(id))
        };
        if all {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "select pending from {SCHEMA}.outbox_stats()"
    )))
    .fetch_one(pool)
    .await
}

/// Consumes the bench queue, noting when each event arrives.
async fn consume(bus: Bus, queue: String, clock: Arc<Clock>) -> AnyResult<()> {
    let ch = bus.channel().await?;
    ch.basic_qos(1000, BasicQosOptions::default()).await?;
    let mut deliveries = ch
        .basic_consume(
            queue.into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        let at = Instant::now();
        if let Ok(event) = serde_json::from_slice::<CloudEvent>(&delivery.data) {
            clock.received.lock().unwrap().insert(event.id, at);
        }
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}
