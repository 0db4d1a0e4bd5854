//! Who draws from which bucket, quotas, and the GCRA arithmetic.

use super::*;

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
    pub(super) fn emission_us(&self) -> u64 {
        ((WINDOW_SECS * 1_000_000) / u64::from(self.limit.max(1))).max(1)
    }

    pub(super) fn tolerance_us(&self) -> u64 {
        self.emission_us() * u64::from(self.burst.max(1))
    }

    /// What a request of `cost` units draws: the emission interval that
    /// many times, at most the whole burst (so that any one request can
    /// pass a full bucket: a GraphQL query within its limits is never
    /// refused for ever).
    pub(super) fn charge_us(&self, cost: u32) -> u64 {
        self.emission_us() * u64::from(cost.clamp(1, self.burst.max(1)))
    }

    /// The verdict from what GCRA found: allowed with the TAT `ahead` µs
    /// after now, or refused with the TAT `ahead` µs after now and the next
    /// request allowed `retry` µs from now.
    pub(super) fn decision(&self, allowed: bool, ahead: u64, retry: u64) -> Decision {
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
    gcra_cost(tat_us, now_us, q, 1)
}

/// [`gcra`] for a request of `cost` units ([`Quota::charge_us`]).
pub fn gcra_cost(tat_us: Option<u64>, now_us: u64, q: &Quota, cost: u32) -> (Decision, u64) {
    let tolerance = q.tolerance_us();
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + q.charge_us(cost);
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
