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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use psa_authn::Caller;
use psa_runtime::config::{FailMode, RateLimitConfig};
use redis::aio::ConnectionManager;
use uuid::Uuid;

pub const WINDOW_SECS: u64 = 60;

/// Which quota a verdict comes from, as named in the `RateLimit` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The default quota of a user, a client or an address.
    Default,
    /// An API key's quota (its own, or the default one).
    Key,
    /// The ceiling of the caller's tenant, shared by all its callers.
    Tenant,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Default => "default",
            Policy::Key => "key",
            Policy::Tenant => "tenant",
        }
    }
}

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The quota that applied: the one that refused, else the tighter one.
    pub policy: Policy,
    /// Its requests per window.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until that quota is whole again.
    pub reset_secs: u64,
    /// Seconds until the next request would be allowed (when refused).
    pub retry_after_secs: u64,
}

/// Where the verdict came from, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Redis,
    Local,
    Open,
    Closed,
}

/// What a request draws from, before the limiter names its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The caller's tenant: its buckets live under it, and its ceiling applies.
    pub tenant: Option<Uuid>,
    /// The bucket within its tenant: `key:<id>`, `user:<sub>`, `client:<id>`, `ip:<address>`.
    pub name: String,
    /// Its own quota per minute; `None` is the default (with the default burst).
    pub quota: Option<u32>,
    pub policy: Policy,
}

impl Bucket {
    /// An API key's bucket: the key belongs to one tenant.
    pub fn api_key(caller: &Caller, quota: Option<u32>) -> Self {
        let id = caller
            .subject
            .strip_prefix("api-key:")
            .unwrap_or(&caller.subject);
        Self {
            tenant: caller.tenant_id,
            name: format!("key:{id}"),
            quota,
            policy: Policy::Key,
        }
    }

    /// A token's bucket: per (tenant, client) for a client-credentials
    /// token, per (tenant, user) otherwise (see [`is_client_credentials`]).
    pub fn token(caller: &Caller) -> Self {
        let name = match caller.client_id.as_deref() {
            Some(client) if is_client_credentials(caller) => format!("client:{client}"),
            _ => format!("user:{}", caller.subject),
        };
        Self {
            tenant: caller.tenant_id,
            name,
            quota: None,
            policy: Policy::Default,
        }
    }

    /// An unauthenticated caller's bucket (public routes, failed credentials).
    pub fn ip(address: &str) -> Self {
        Self {
            tenant: None,
            name: format!("ip:{address}"),
            quota: None,
            policy: Policy::Default,
        }
    }
}

/// Whether a token was issued to a client acting for itself (client
/// credentials) rather than to a user signed in through a client. A token
/// names no user when its `sub` is its client (RFC 9068 §2.2: with no
/// resource owner, `sub` identifies the client), or when its client is one
/// of the platform's service accounts (`sa.…`), which only the
/// client-credentials grant serves (their `sub` is the account's id).
/// Anything else with a `sub` of its own is a user's token; a token without
/// a client is keyed by its `sub` alone. Erring towards "user" is the safe
/// side: an unrecognised client-credentials token keyed by its `sub` (which
/// such issuers make one per client) still gets a bucket of its own in its
/// tenant, whereas users mistaken for a client would share one bucket
/// among all the tenant's staff on that client.
pub fn is_client_credentials(caller: &Caller) -> bool {
    caller
        .client_id
        .as_deref()
        .is_some_and(|c| c == caller.subject || c.starts_with("sa."))
}

/// One quota: requests per window, burst, and its policy's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub burst: u32,
    pub policy: Policy,
}

impl Quota {
    /// The emission interval in microseconds (at least 1, so any quota works).
    fn emission_us(&self) -> u64 {
        ((WINDOW_SECS * 1_000_000) / u64::from(self.limit.max(1))).max(1)
    }

    fn tolerance_us(&self) -> u64 {
        self.emission_us() * u64::from(self.burst.max(1))
    }

    /// The verdict from what GCRA found: allowed with the TAT `ahead` µs
    /// after now, or refused with the TAT `ahead` µs after now and the next
    /// request allowed `retry` µs from now.
    fn decision(&self, allowed: bool, ahead: u64, retry: u64) -> Decision {
        let (limit, emission) = (self.limit.max(1), self.emission_us());
        Decision {
            allowed,
            policy: self.policy,
            limit,
            remaining: if allowed {
                (self.tolerance_us().saturating_sub(ahead) / emission).min(u64::from(u32::MAX))
                    as u32
            } else {
                0
            },
            reset_secs: ahead.div_ceil(1_000_000),
            retry_after_secs: if allowed {
                0
            } else {
                retry.div_ceil(1_000_000).max(1)
            },
        }
    }
}

/// The arithmetic, in microseconds; the Lua script below does the same.
/// Returns the verdict and the key's TAT afterwards (unchanged when refused).
pub fn gcra(tat_us: Option<u64>, now_us: u64, q: &Quota) -> (Decision, u64) {
    let tolerance = q.tolerance_us();
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + q.emission_us();
    let ahead = new_tat - now_us;
    if ahead > tolerance {
        (q.decision(false, tat - now_us, ahead - tolerance), tat)
    } else {
        (q.decision(true, ahead, 0), new_tat)
    }
}

/// The verdict of a request from its own bucket's and its tenant ceiling's:
/// a refusal if either refused (the one lasting longer when both did, so
/// that `Retry-After` is when both allow again), else the tighter allowance
/// (fewer remaining; the own bucket on a tie).
pub fn verdict(own: Decision, ceiling: Option<Decision>) -> Decision {
    let Some(ceiling) = ceiling else {
        return own;
    };
    let ceiling_applies = match (own.allowed, ceiling.allowed) {
        (true, true) => ceiling.remaining < own.remaining,
        (false, true) => false,
        (true, false) => true,
        (false, false) => ceiling.retry_after_secs > own.retry_after_secs,
    };
    if ceiling_applies { ceiling } else { own }
}

/// Atomic GCRA over several cells in Redis: KEYS = the cells' keys; ARGV =
/// emission µs and tolerance µs of each cell in turn. A request is counted
/// in every cell or in none: when one cell refuses, the others are left as
/// they were, so a tenant at its ceiling does not also drain its callers'
/// own buckets, and a caller refused by its own bucket takes nothing from
/// its tenant's ceiling. Replies, per cell: allowed (1/0), µs from now to
/// the TAT (as it would be after this request when allowed), µs until a
/// request would be allowed (when refused). Time comes from the Redis
/// server, so replicas agree on it.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reply, new_tats, all = {}, {}, true
for i, key in ipairs(KEYS) do
  local emission = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + emission
  local ahead = new_tat - now
  if ahead > tolerance then
    all = false
    reply[#reply + 1] = 0
    reply[#reply + 1] = tat - now
    reply[#reply + 1] = ahead - tolerance
  else
    new_tats[i] = new_tat
    reply[#reply + 1] = 1
    reply[#reply + 1] = ahead
    reply[#reply + 1] = 0
  end
end
if all then
  for i, key in ipairs(KEYS) do
    local ahead = new_tats[i] - now
    redis.call('SET', key, string.format('%d', new_tats[i]), 'PX', math.ceil(ahead / 1000))
  end
end
return reply
"#;

/// One GCRA cell a request draws from: where it is kept and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    key: String,
    quota: Quota,
}

/// A request's cells: its own bucket and, with a tenant, the tenant's ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cells {
    own: Cell,
    ceiling: Option<Cell>,
}

impl Cells {
    fn iter(&self) -> impl Iterator<Item = &Cell> {
        std::iter::once(&self.own).chain(self.ceiling.as_ref())
    }

    /// The verdict from each cell's decision, in the order of `iter`.
    fn verdict(&self, mut decisions: impl Iterator<Item = Decision>) -> Option<Decision> {
        let own = decisions.next()?;
        let ceiling = match self.ceiling {
            Some(_) => Some(decisions.next()?),
            None => None,
        };
        Some(verdict(own, ceiling))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: u32, burst: u32) -> Quota {
        Quota {
            limit,
            burst,
            policy: Policy::Default,
        }
    }

    #[test]
    fn ten_per_minute_allows_ten_then_refuses() {
        let mut tat = None;
        let now = 1_000_000_000;
        for i in 0..10 {
            let (d, t) = gcra(tat, now, &q(10, 10));
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
            tat = Some(t);
        }
        let (d, t) = gcra(tat, now, &q(10, 10));
        assert!(!d.allowed);
        assert_eq!(Some(t), tat, "a refusal takes nothing");
        assert_eq!(d.retry_after_secs, 6, "one emission interval of 6 s");
        // After one interval, one more.
        let (d, _) = gcra(tat, now + 6_000_000, &q(10, 10));
        assert!(d.allowed);
    }

    #[test]
    fn very_high_quotas_do_not_divide_by_zero() {
        assert!(gcra(None, 1, &q(u32::MAX, u32::MAX)).0.allowed);
        assert!(gcra(None, 1, &q(0, 0)).0.allowed);
    }

    #[test]
    fn burst_one_spaces_requests_evenly() {
        let (d, tat) = gcra(None, 0, &q(60, 1));
        assert!(d.allowed);
        assert!(!gcra(Some(tat), 500_000, &q(60, 1)).0.allowed);
        assert!(gcra(Some(tat), 1_000_000, &q(60, 1)).0.allowed);
    }

    fn decision(policy: Policy, allowed: bool, remaining: u32, retry: u64) -> Decision {
        Decision {
            allowed,
            policy,
            limit: 100,
            remaining,
            reset_secs: 1,
            retry_after_secs: retry,
        }
    }

    #[test]
    fn the_refusing_or_tighter_quota_applies() {
        use Policy::{Default as Own, Tenant};
        let own = |a, r, t| decision(Own, a, r, t);
        let ceiling = |a, r, t| decision(Tenant, a, r, t);
        assert_eq!(verdict(own(true, 5, 0), None).policy, Own);
        assert_eq!(
            verdict(own(true, 5, 0), Some(ceiling(true, 9, 0))).policy,
            Own
        );
        assert_eq!(
            verdict(own(true, 5, 0), Some(ceiling(true, 5, 0))).policy,
            Own
        );
        assert_eq!(
            verdict(own(true, 5, 0), Some(ceiling(true, 4, 0))).policy,
            Tenant
        );
        assert_eq!(
            verdict(own(true, 0, 0), Some(ceiling(false, 0, 3))).policy,
            Tenant
        );
        assert_eq!(
            verdict(own(false, 0, 3), Some(ceiling(true, 0, 0))).policy,
            Own
        );
        let both = verdict(own(false, 0, 3), Some(ceiling(false, 0, 7)));
        assert_eq!((both.policy, both.retry_after_secs), (Tenant, 7));
        let both = verdict(own(false, 0, 9), Some(ceiling(false, 0, 7)));
        assert_eq!((both.policy, both.retry_after_secs), (Own, 9));
    }

    fn caller(sub: &str, tenant: Option<Uuid>, client: Option<&str>) -> Caller {
        Caller {
            subject: sub.into(),
            tenant_id: tenant,
            client_id: client.map(str::to_owned),
            permissions: Default::default(),
        }
    }

    #[test]
    fn tokens_are_keyed_per_user_or_per_client_within_their_tenant() {
        let t = Some(Uuid::now_v7());
        let user = Bucket::token(&caller("u1", t, Some("psa-web")));
        assert_eq!((user.tenant, user.name.as_str()), (t, "user:u1"));
        // RFC 9068: no resource owner, sub is the client.
        let cc = Bucket::token(&caller("sync", t, Some("sync")));
        assert_eq!(cc.name, "client:sync");
        // The platform's service accounts: sub is the account's id.
        let sa = Bucket::token(&caller("0190-acct", t, Some("sa.abc.def")));
        assert_eq!(sa.name, "client:sa.abc.def");
        let bare = Bucket::token(&caller("u2", t, None));
        assert_eq!(bare.name, "user:u2");
        let key = Bucket::api_key(&caller("api-key:k1", t, Some("api-key:k1")), Some(5));
        assert_eq!(
            (key.name.as_str(), key.quota, key.policy),
            ("key:k1", Some(5), Policy::Key)
        );
    }

    fn limiter(adjust: impl FnOnce(&mut RateLimitConfig)) -> RateLimiter {
        let mut rl = psa_runtime::PlatformConfig::load(None)
            .unwrap()
            .gateway
            .rate_limit;
        rl.key_prefix = "psa:rl:".into();
        adjust(&mut rl);
        RateLimiter::new(rl).unwrap()
    }

    #[test]
    fn a_tenants_keys_share_its_hash_tag_and_its_ceiling() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let l = limiter(|rl| {
            rl.tenant_ceilings.insert(a.simple().to_string(), 50);
        });
        let cells = l.cells(&Bucket::token(&caller("u1", Some(a), Some("psa-web"))));
        assert_eq!(cells.own.key, format!("psa:rl:{{{a}}}:user:u1"));
        let ceiling = cells.ceiling.unwrap();
        assert_eq!(ceiling.key, format!("psa:rl:{{{a}}}:tenant"));
        assert_eq!(
            (ceiling.quota.limit, ceiling.quota.policy),
            (50, Policy::Tenant)
        );
        assert_eq!(l.ceiling(b), 6000, "the default ceiling");
        let other = l.cells(&Bucket::token(&caller("u1", Some(b), Some("psa-web"))));
        assert_eq!(other.own.key, format!("psa:rl:{{{b}}}:user:u1"));
        let anonymous = l.cells(&Bucket::ip("10.0.0.1"));
        assert_eq!(
            (anonymous.own.key.as_str(), anonymous.ceiling),
            ("psa:rl:ip:10.0.0.1", None)
        );
    }

    #[test]
    fn ceilings_must_name_tenants() {
        let mut rl = limiter(|_| {}).cfg;
        rl.tenant_ceilings.insert("acme".into(), 5);
        let err = RateLimiter::new(rl).err().unwrap().to_string();
        assert!(err.contains("tenant_ceilings.acme"), "{err}");
    }

    #[test]
    fn local_mode_counts_in_both_cells_or_in_neither() {
        let t = Uuid::now_v7();
        let l = limiter(|rl| {
            rl.per_minute = 3;
            rl.burst = 3;
            rl.tenant_ceilings.insert(t.to_string(), 4);
        });
        let u1 = l.cells(&Bucket::token(&caller("u1", Some(t), Some("psa-web"))));
        let u2 = l.cells(&Bucket::token(&caller("u2", Some(t), Some("psa-web"))));
        let policies: Vec<_> = (0..4)
            .map(|_| {
                let d = l.check_local(&u1);
                (d.allowed, d.policy)
            })
            .collect();
        assert_eq!(
            policies,
            [
                (true, Policy::Default),
                (true, Policy::Default),
                (true, Policy::Default),
                (false, Policy::Default)
            ]
        );
        // u1's refusal took nothing from the ceiling: one is left for u2.
        let d = l.check_local(&u2);
        assert!(d.allowed);
        assert_eq!((d.policy, d.remaining), (Policy::Tenant, 0));
        // The ceiling's refusal takes nothing from u2's own bucket.
        let d = l.check_local(&u2);
        assert_eq!((d.allowed, d.policy), (false, Policy::Tenant));
        // Counted once, u2's TAT is at most one emission interval ahead.
        let tat = l.local.lock().unwrap()[&u2.own.key];
        assert!(
            tat <= now_us() + q(3, 3).emission_us(),
            "u2 was counted twice"
        );
    }

    use proptest::prelude::*;

    proptest! {
        /// Over any arrival pattern within one window, no more than burst requests pass.
        #[test]
        fn never_more_than_burst_in_a_window(gaps in prop::collection::vec(0u64..500_000, 1..200), limit in 1u32..100) {
            let mut tat = None;
            let mut now = 10_000_000_000u64;
            let start = now;
            let mut allowed = 0u32;
            for g in gaps {
                now += g;
                if now - start >= 60_000_000 { break; }
                let (d, t) = gcra(tat, now, &q(limit, limit));
                if d.allowed { allowed += 1; }
                tat = Some(t);
            }
            let elapsed = now - start;
            let refill = (elapsed * u64::from(limit) / 60_000_000) as u32;
            prop_assert!(allowed <= limit + refill, "allowed {allowed} limit {limit} refill {refill}");
        }
    }
}
