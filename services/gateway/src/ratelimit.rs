//! GCRA rate limiting, shared across gateway replicas through Redis in one
//! atomic round trip (a Lua script), with a per-process fallback.
//!
//! GCRA keeps one value per key, the theoretical arrival time (TAT). With a
//! limit of `q` per `w` seconds the emission interval is `T = w / q`; a
//! request is allowed when `max(TAT, now) + T - now <= T * burst`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use psa_runtime::config::{FailMode, RateLimitConfig};
use redis::aio::ConnectionManager;

pub const WINDOW_SECS: u64 = 60;

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The quota (requests per window) this key has.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the key's quota is whole again.
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

/// The emission interval in microseconds (at least 1, so any quota works).
pub fn emission_us(limit: u32) -> u64 {
    ((WINDOW_SECS * 1_000_000) / u64::from(limit.max(1))).max(1)
}

/// The arithmetic, in microseconds; the Lua script below does the same.
pub fn gcra(tat_us: Option<u64>, now_us: u64, limit: u32, burst: u32) -> (Decision, u64) {
    let limit = limit.max(1);
    let emission = emission_us(limit);
    let tolerance = emission * u64::from(burst.max(1));
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + emission;
    let ahead = new_tat - now_us;
    if ahead > tolerance {
        let retry = ahead - tolerance;
        let d = Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset_secs: (tat - now_us).div_ceil(1_000_000),
            retry_after_secs: retry.div_ceil(1_000_000).max(1),
        };
        (d, tat)
    } else {
        let d = Decision {
            allowed: true,
            limit,
            remaining: ((tolerance - ahead) / emission).min(u64::from(u32::MAX)) as u32,
            reset_secs: ahead.div_ceil(1_000_000),
            retry_after_secs: 0,
        };
        (d, new_tat)
    }
}

/// Atomic GCRA in Redis: KEYS[1] = key; ARGV = emission µs, tolerance µs.
/// Time comes from the Redis server, so replicas agree on it.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + emission
local ahead = new_tat - now
if ahead > tolerance then
  return {0, tat - now, ahead - tolerance}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(ahead / 1000))
return {1, ahead, 0}
"#;

pub struct RateLimiter {
    cfg: RateLimitConfig,
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

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> Self {
        let client = redis::Client::open(cfg.redis_url.as_str())
            .map_err(|e| tracing::error!(error = %e, "invalid gateway.rate_limit.redis_url"))
            .ok();
        Self {
            cfg,
            script: redis::Script::new(SCRIPT),
            redis: tokio::sync::RwLock::new(None),
            client,
            skip_redis_until: Mutex::new(None),
            local: Mutex::new(HashMap::new()),
        }
    }

    pub fn default_limit(&self) -> u32 {
        self.cfg.per_minute
    }

    fn burst_for(&self, limit: u32) -> u32 {
        if limit == self.cfg.per_minute {
            self.cfg.burst
        } else {
            limit
        }
    }

    /// Decides for one request of `key` with a quota of `limit` per minute.
    pub async fn check(&self, key: &str, limit: u32) -> (Decision, Source) {
        let burst = self.burst_for(limit);
        match self.check_redis(key, limit, burst).await {
            Ok(d) => (d, Source::Redis),
            Err(e) => {
                metrics::counter!("gateway_ratelimit_redis_errors_total").increment(1);
                tracing::debug!(error = %e, "rate limit store unavailable");
                match self.cfg.fail_mode {
                    FailMode::Local => (self.check_local(key, limit, burst), Source::Local),
                    FailMode::Open => (
                        Decision {
                            allowed: true,
                            limit,
                            remaining: limit,
                            reset_secs: 0,
                            retry_after_secs: 0,
                        },
                        Source::Open,
                    ),
                    FailMode::Closed => (
                        Decision {
                            allowed: false,
                            limit,
                            remaining: 0,
                            reset_secs: 0,
                            retry_after_secs: 1,
                        },
                        Source::Closed,
                    ),
                }
            }
        }
    }

    fn check_local(&self, key: &str, limit: u32, burst: u32) -> Decision {
        let mut map = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_us();
        let (d, tat) = gcra(map.get(key).copied(), now, limit, burst);
        map.insert(key.to_owned(), tat);
        if map.len() > 100_000 {
            map.retain(|_, t| *t > now);
        }
        d
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

    async fn check_redis(&self, key: &str, limit: u32, burst: u32) -> Result<Decision, String> {
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
        let limit = limit.max(1);
        let emission = emission_us(limit);
        let tolerance = emission * u64::from(burst.max(1));
        let full_key = format!("{}{key}", self.cfg.key_prefix);
        let attempt = async {
            let mut conn = self.connection().await?;
            let reply: (i64, i64, i64) = self
                .script
                .key(&full_key)
                .arg(emission)
                .arg(tolerance)
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
            Ok((allowed, ahead_or_wait, retry)) => {
                let (ahead, retry) = (ahead_or_wait.max(0) as u64, retry.max(0) as u64);
                Ok(if allowed == 1 {
                    Decision {
                        allowed: true,
                        limit,
                        remaining: (tolerance.saturating_sub(ahead) / emission)
                            .min(u64::from(u32::MAX)) as u32,
                        reset_secs: ahead.div_ceil(1_000_000),
                        retry_after_secs: 0,
                    }
                } else {
                    Decision {
                        allowed: false,
                        limit,
                        remaining: 0,
                        reset_secs: ahead.div_ceil(1_000_000),
                        retry_after_secs: retry.div_ceil(1_000_000).max(1),
                    }
                })
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

    #[test]
    fn ten_per_minute_allows_ten_then_refuses() {
        let mut tat = None;
        let now = 1_000_000_000;
        for i in 0..10 {
            let (d, t) = gcra(tat, now, 10, 10);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
            tat = Some(t);
        }
        let (d, _) = gcra(tat, now, 10, 10);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 6, "one emission interval of 6 s");
        // After one interval, one more.
        let (d, _) = gcra(tat, now + 6_000_000, 10, 10);
        assert!(d.allowed);
    }

    #[test]
    fn very_high_quotas_do_not_divide_by_zero() {
        assert!(gcra(None, 1, u32::MAX, u32::MAX).0.allowed);
    }

    #[test]
    fn burst_one_spaces_requests_evenly() {
        let (d, tat) = gcra(None, 0, 60, 1);
        assert!(d.allowed);
        assert!(!gcra(Some(tat), 500_000, 60, 1).0.allowed);
        assert!(gcra(Some(tat), 1_000_000, 60, 1).0.allowed);
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
                let (d, t) = gcra(tat, now, limit, limit);
                if d.allowed { allowed += 1; }
                tat = Some(t);
            }
            let elapsed = now - start;
            let refill = (elapsed * u64::from(limit) / 60_000_000) as u32;
            prop_assert!(allowed <= limit + refill, "allowed {allowed} limit {limit} refill {refill}");
        }
    }
}
