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
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use psa_authn::Caller;
use psa_runtime::config::{FailMode, RateLimitConfig};
use redis::aio::ConnectionManager;
use uuid::Uuid;

pub use policy::*;
use script::*;

pub struct RateLimiter {
    cfg: RateLimitConfig,
    /// Per-tenant ceilings that differ from `cfg.tenant_per_minute`.
    ceilings: HashMap<Uuid, u32>,
    script: redis::Script,
    redis: tokio::sync::RwLock<Option<ConnectionManager>>,
    client: Option<redis::Client>,
    /// After a Redis failure, skip it until then (each call is bounded anyway).
    skip_redis_until: Mutex<Option<Instant>>,
    local: Mutex<HashMap<String, u64>>,
}

const REDIS_BACKOFF: Duration = Duration::from_millis(500);

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
        Ok(Self {
            cfg,
            ceilings,
            script: redis::Script::new(SCRIPT),
            redis: tokio::sync::RwLock::new(None),
            client,
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
                }
            }
        }
    }

    /// Decides for one request drawing from `bucket` (and its tenant's ceiling).
    pub async fn check(&self, bucket: &Bucket) -> (Decision, Source) {
        let cells = self.cells(bucket);
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
        let run = |c: &Cell| gcra(map.get(&c.key).copied(), now, &c.quota);
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

    async fn connection(&self) -> Result<ConnectionManager, String> {
        if let Some(c) = self.redis.read().await.as_ref() {
            return Ok(c.clone());
        }
        let client = self.client.as_ref().ok_or("no redis client")?;
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(
                self.cfg.redis_timeout_ms.max(1) * 4,
            )))
            .set_response_timeout(Some(Duration::from_millis(
                self.cfg.redis_timeout_ms.max(1),
            )))
            .set_number_of_retries(1);
        let manager = client
            .get_connection_manager_with_config(cfg)
            .await
            .map_err(|e| e.to_string())?;
        *self.redis.write().await = Some(manager.clone());
        Ok(manager)
    }

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
        let timeout = Duration::from_millis(self.cfg.redis_timeout_ms.max(1));
        let mut invocation = self.script.prepare_invoke();
        for cell in cells.iter() {
            invocation
                .key(&cell.key)
                .arg(cell.quota.emission_us())
                .arg(cell.quota.tolerance_us());
        }
        let attempt = async {
            let mut conn = self.connection().await?;
            let reply: Vec<i64> = invocation
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(reply)
        };
        let result = match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
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
        let timeout = Duration::from_millis(self.cfg.redis_timeout_ms.max(1) * 4);
        let attempt = async {
            let mut conn = self.connection().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("no answer".into()),
        }
    }
}
