//! API keys: `psa_…`, shown once, stored as an argon2 hash, scoped to no more
//! than their creator holds, optionally expiring, revocable, each with its
//! own rate limit. The gateway exchanges a key for a short-lived token at
//! `/oauth/token` (token exchange) and caches the answer briefly.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub permissions: Vec<String>,
    /// The subject of whoever created it.
    pub created_by: String,
    pub rate_limit_per_minute: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const RATE_LIMIT_MAX: i32 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    /// Each registered by a module and held by the caller (403 otherwise).
    #[schema(schema_with = psa_kernel::docs::permissions)]
    pub permissions: Vec<String>,
    /// In the future.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute for this key at the gateway; the platform default when absent.
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate_limit_per_minute: Option<i32>,
}

impl NewApiKey {
    pub fn normalized(mut self, now: DateTime<Utc>) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.text("name", &self.name, super::user::NAME_MAX);
        super::role::check_permissions(&mut errors, &self.permissions);
        self.name = self.name.trim().to_owned();
        errors.instant("expires_at", self.expires_at);
        if self.expires_at.is_some_and(|e| e <= now) {
            errors.add_code("expires_at", "in_past", "must be in the future");
        }
        if self
            .rate_limit_per_minute
            .is_some_and(|l| !(1..=RATE_LIMIT_MAX).contains(&l))
        {
            errors.add(
                "rate_limit_per_minute",
                format!("must be 1 to {RATE_LIMIT_MAX}"),
            );
        }
        errors.finish().map(|()| self)
    }
}

/// A new key with its secret: the one response that shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// `psa_…`, shown once.
    pub key: String,
}

/// `psa_<tenant hex>_<key id hex>_<secret>`: the ids scope the lookup (the
/// tenant under row-level security), the secret is verified against the hash.
pub fn format_key(tenant: Uuid, id: Uuid, secret: &str) -> String {
    format!("psa_{}_{}_{secret}", tenant.simple(), id.simple())
}

/// (tenant, key id, secret) of a well-formed key.
pub fn parse_key(key: &str) -> Option<(Uuid, Uuid, &str)> {
    let rest = key.strip_prefix("psa_")?;
    let mut parts = rest.splitn(3, '_');
    let tenant = Uuid::try_parse(parts.next().filter(|p| p.len() == 32)?).ok()?;
    let id = Uuid::try_parse(parts.next().filter(|p| p.len() == 32)?).ok()?;
    let secret = parts.next().filter(|s| s.len() >= 32)?;
    Some((tenant, id, secret))
}

/// What a valid key stands for.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub tenant: Uuid,
    pub id: Uuid,
    pub permissions: BTreeSet<String>,
    pub rate_limit_per_minute: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format_round_trips() {
        let (t, i) = (Uuid::now_v7(), Uuid::now_v7());
        let secret = "s".repeat(43);
        let key = format_key(t, i, &secret);
        let (pt, pi, ps) = parse_key(&key).unwrap();
        assert_eq!((pt, pi, ps), (t, i, secret.as_str()));
        assert!(parse_key("psa_short").is_none());
        assert!(parse_key(&format_key(t, i, "x")).is_none());
    }

    #[test]
    fn new_key_checks_every_field() {
        let now = Utc::now();
        let bad = NewApiKey {
            name: "".into(),
            permissions: vec![],
            expires_at: Some(now),
            rate_limit_per_minute: Some(0),
        };
        let fields: Vec<String> = bad
            .normalized(now)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "expires_at", "rate_limit_per_minute"]);
    }
}
