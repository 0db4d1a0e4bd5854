//! GCRA rate limiting, shared across gateway replicas through Redis in one
//! atomic round trip (a Lua script), with a per-process fallback.
//!
//! GCRA keeps one value per key, the theoretical arrival time (TAT). With a
//! limit of `q` per `w` seconds the emission interval is `T = w / q`; a
//! request is allowed when `max(TAT, now) + T - now <= T * burst`.
//!
//! A request draws from its own bucket and, when its caller has a tenant,
//! from that tenant's ceiling; it passes only when both allow it. Buckets
//! never span tenants: every key of a tenant carries the tenant's id (as a
//! Redis Cluster hash tag, so that both cells of a request live in one slot
//! and one script can update them together).

mod policy;
mod script;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use psa_authn::Caller;
use psa_runtime::config::{FailMode, RateLimitConfig};
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub use policy::*;
use script::*;

pub struct RateLimiter {
    cfg: RateLimitConfig,
    /// Per-tenant ceilings that differ from `cfg.tenant_per_minute`.
    ceilings: HashMap<Uuid, u32>,
    store: Arc<Store>,
    /// Where requests queue for the next script call; the batching task
    /// starts with the first request (it needs the runtime) and ends when
    /// the limiter goes.
    batcher: OnceLock<mpsc::UnboundedSender<Pending>>,
    /// After a Redis failure, skip it until then (each call is bounded anyway).
    skip_redis_until: Mutex<Option<Instant>>,
    local: Mutex<HashMap<String, u64>>,
}

/// The shared limiter: one multiplexed connection and the script.
struct Store {
    client: Option<redis::Client>,
    conn: tokio::sync::RwLock<Option<ConnectionManager>>,
    script: redis::Script,
    timeout: Duration,
}

/// A request waiting for its verdict: its cells, and where the script's
/// reply for them (three numbers per cell) goes.
struct Pending {
    cells: Cells,
    reply: oneshot::Sender<Result<Vec<i64>, String>>,
}

const REDIS_BACKOFF: Duration = Duration::from_millis(500);

/// At most this many requests in one script call.
const MAX_BATCH: usize = 64;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `gateway.rate_limit.tenant_ceilings`: tenant id (hyphenated or simple
/// form, so that it can also be given as an environment variable) → quota.
fn parse_ceilings(
    raw: &std::collections::BTreeMap<String, u32>,
) -> anyhow::Result<HashMap<Uuid, u32>> {
    raw.iter()
        .map(|(tenant, &limit)| {
            let id = Uuid::try_parse(tenant).map_err(|_| {
                anyhow::anyhow!(
                    "gateway.rate_limit.tenant_ceilings.{tenant}: the key is not a tenant id (UUID)"
                )
            })?;
            Ok((id, limit))
        })
        .collect()
}

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> anyhow::Result<Self> {
        let ceilings = parse_ceilings(&cfg.tenant_ceilings)?;
        let client = redis::Client::open(cfg.redis_url.as_str())
            .map_err(|e| tracing::error!(error = %e, "invalid gateway.rate_limit.redis_url"))
            .ok();
        let store = Store {
            client,
            conn: tokio::sync::RwLock::new(None),
            script: redis::Script::new(SCRIPT),
            timeout: Duration::from_millis(cfg.redis_timeout_ms.max(1)),
        };
        Ok(Self {
            cfg,
            ceilings,
            store: Arc::new(store),
            batcher: OnceLock::new(),
            skip_redis_until: Mutex::new(None),
            local: Mutex::new(HashMap::new()),
        })
    }

    /// The ceiling of a tenant per minute.
    pub fn ceiling(&self, tenant: Uuid) -> u32 {
        self.ceilings
            .get(&tenant)
            .copied()
            .unwrap_or(self.cfg.tenant_per_minute)
    }

    /// The cells `bucket` draws from: its own, then its tenant's ceiling.
    /// A tenant's keys share the hash tag `{<tenant>}` (one Redis Cluster
    /// slot); keys without a tenant start otherwise, so they cannot meet.
    fn cells(&self, bucket: &Bucket) -> Cells {
        let prefix = &self.cfg.key_prefix;
        let own = match bucket.quota {
            // A quota of its own may use all of it at once.
            Some(limit) => Quota {
                limit,
                burst: limit,
                policy: bucket.policy,
            },
            None => Quota {
                limit: self.cfg.per_minute,
                burst: self.cfg.burst,
                policy: bucket.policy,
            },
        };
        match bucket.tenant {
            None => Cells {
                own: Cell {
                    key: format!("{prefix}{}", bucket.name),
                    quota: own,
                },
                ceiling: None,
                cost: 1,
            },
            Some(tenant) => {
                let limit = self.ceiling(tenant);
                Cells {
                    own: Cell {
                        key: format!("{prefix}{{{tenant}}}:{}", bucket.name),
                        quota: own,
                    },
                    ceiling: Some(Cell {
                        key: format!("{prefix}{{{tenant}}}:tenant"),
                        quota: Quota {
                            limit,
                            burst: limit,
                            policy: Policy::Tenant,
                        },
                    }),
                    cost: 1,
                }
            }
        }
    }

    /// Decides for one request drawing from `bucket` (and its tenant's ceiling).
    pub async fn check(&self, bucket: &Bucket) -> (Decision, Source) {
        self.check_cost(bucket, 1).await
    }

    /// Decides for a request of `cost` units (a GraphQL query's points;
    /// at most each quota's burst is drawn). `remaining` is in units.
    pub async fn check_cost(&self, bucket: &Bucket, cost: u32) -> (Decision, Source) {
        let mut cells = self.cells(bucket);
        cells.cost = cost;
        match self.check_redis(&cells).await {
            Ok(d) => (d, Source::Redis),
            Err(e) => {
                metrics::counter!("gateway_ratelimit_redis_errors_total").increment(1);
                tracing::debug!(error = %e, "rate limit store unavailable");
                // Open and closed decide without counting: every cell
                // allows (whole) or refuses alike.
                let fixed = |allowed: bool| {
                    let of = |c: &Cell| Decision {
                        allowed,
                        policy: c.quota.policy,
                        limit: c.quota.limit,
                        remaining: if allowed { c.quota.limit } else { 0 },
                        reset_secs: 0,
                        retry_after_secs: u64::from(!allowed),
                    };
                    verdict(of(&cells.own), cells.ceiling.as_ref().map(of))
                };
                match self.cfg.fail_mode {
                    FailMode::Local => (self.check_local(&cells), Source::Local),
                    FailMode::Open => (fixed(true), Source::Open),
                    FailMode::Closed => (fixed(false), Source::Closed),
                }
            }
        }
    }

    /// The same cells per process: counted in all of them or in none.
    fn check_local(&self, cells: &Cells) -> Decision {
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_us();
        let run = |c: &Cell| gcra_cost(map.get(&c.key).copied(), now, &c.quota, cells.cost);
        let (own, own_tat) = run(&cells.own);
        let ceiling = cells.ceiling.as_ref().map(|c| (c, run(c)));
        if own.allowed && ceiling.is_none_or(|(_, (d, _))| d.allowed) {
            map.insert(cells.own.key.clone(), own_tat);
            if let Some((c, (_, tat))) = ceiling {
                map.insert(c.key.clone(), tat);
            }
        }
        if map.len() > 100_000 {
            map.retain(|_, t| *t > now);
        }
        verdict(own, ceiling.map(|(_, (d, _))| d))
    }

    /// Decides for `cells` in Redis: the request joins the next script
    /// call, which checks every request queued meanwhile (of its tenant) in
    /// one round trip. Under load that is many requests per call, and
    /// little work per request for Redis and for the gateway; alone, a
    /// request is sent at once.
    async fn check_redis(&self, cells: &Cells) -> Result<Decision, String> {
        {
            let skip = self
                .skip_redis_until
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if skip.is_some_and(|t| Instant::now() < t) {
                return Err("backing off after a failure".into());
            }
        }
        let batcher = self.batcher.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(batches(self.store.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            cells: cells.clone(),
            reply,
        };
        let result = match batcher.send(pending) {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Err("the rate limit batcher is gone".into())),
            Err(_) => Err("the rate limit batcher is gone".into()),
        };
        match result {
            Ok(reply) => {
                let decisions = cells.iter().zip(reply.chunks_exact(3)).map(|(c, r)| {
                    let (ahead, retry) = (r[1].max(0) as u64, r[2].max(0) as u64);
                    c.quota.decision(r[0] == 1, ahead, retry)
                });
                cells
                    .verdict(decisions)
                    .ok_or_else(|| format!("the script answered {reply:?}"))
            }
            Err(e) => {
                *self
                    .skip_redis_until
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REDIS_BACKOFF);
                Err(e)
            }
        }
    }

    /// Answers whether Redis can be reached now (for /readyz).
    pub async fn ping(&self) -> Result<(), String> {
        let store = &self.store;
        let attempt = async {
            let mut conn = store.connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(store.timeout * 4, attempt).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("no answer".into()),
        }
    }
}

impl Store {
    async fn connection(&self) -> Result<ConnectionManager, String> {
        if let Some(c) = self.conn.read().await.as_ref() {
            return Ok(c.clone());
        }
        let client = self.client.as_ref().ok_or("no redis client")?;
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout * 4))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let manager = client
            .get_connection_manager_with_config(cfg)
            .await
            .map_err(|e| e.to_string())?;
        *self.conn.write().await = Some(manager.clone());
        Ok(manager)
    }

    /// One script call for `batch` (requests whose keys share a slot):
    /// their replies, in order, or why there are none.
    async fn run(&self, batch: &[Pending]) -> Result<Vec<Vec<i64>>, String> {
        let mut invocation = self.script.prepare_invoke();
        for p in batch {
            invocation.arg(p.cells.len());
            for cell in p.cells.iter() {
                invocation
                    .key(&cell.key)
                    .arg(cell.quota.charge_us(p.cells.cost))
                    .arg(cell.quota.tolerance_us());
            }
        }
        let attempt = async {
            let mut conn = self.connection().await?;
            invocation
                .invoke_async::<Vec<i64>>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        let reply = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(r) => r?,
            Err(_) => return Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        let cells: usize = batch.iter().map(|p| p.cells.len()).sum();
        if reply.len() != cells * 3 {
            return Err(format!("the script answered {reply:?}"));
        }
        let mut rest = reply.as_slice();
        Ok(batch
            .iter()
            .map(|p| {
                let (mine, others) = rest.split_at(p.cells.len() * 3);
                rest = others;
                mine.to_vec()
            })
            .collect())
    }
}

/// Sends what has queued as one script call per slot (the calls of one
/// round go out together, pipelined on the connection), answers, and
/// repeats; ends when the limiter is dropped.
async fn batches(store: Arc<Store>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut round = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut round, MAX_BATCH).await > 0 {
        // Let requests that are runnable now reach the queue too: under load
        // the round grows, at the cost of one pass of the scheduler (alone,
        // a request goes at once: nothing else runs).
        if round.len() < MAX_BATCH {
            tokio::task::yield_now().await;
            while round.len() < MAX_BATCH
                && let Ok(p) = queue.try_recv()
            {
                round.push(p);
            }
        }
        let mut slots: Vec<Vec<Pending>> = Vec::new();
        for p in round.drain(..) {
            match slots
                .iter_mut()
                .find(|s| s[0].cells.slot() == p.cells.slot())
            {
                Some(slot) => slot.push(p),
                None => slots.push(vec![p]),
            }
        }
        metrics::counter!("gateway_ratelimit_redis_calls_total").increment(slots.len() as u64);
        let replies = futures::future::join_all(slots.iter().map(|s| store.run(s))).await;
        for (slot, replies) in slots.into_iter().zip(replies) {
            match replies {
                Ok(replies) => {
                    for (p, reply) in slot.into_iter().zip(replies) {
                        let _ = p.reply.send(Ok(reply));
                    }
                }
                Err(e) => {
                    for p in slot {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}
