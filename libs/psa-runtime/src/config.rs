use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use psa_authn::AuthConfig;
use psa_db::DatabaseConfig;
use psa_http::layers::HttpLimits;
use psa_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const DEFAULTS: &str = include_str!("../defaults.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    pub public_url: String,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
}

impl HttpConfig {
    pub fn limits(&self) -> HttpLimits {
        HttpLimits {
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            body_limit_bytes: self.body_limit_bytes,
        }
    }
}

/// An OAuth client that signs staff in (authorization code + PKCE).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

/// The auth module's issuer settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthServerConfig {
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub auth_code_ttl_secs: i64,
    pub api_key_token_ttl_secs: i64,
    pub key_activation_delay_secs: i64,
    pub master_key: String,
    pub master_key_file: PathBuf,
    pub create_master_key: bool,
    pub login_failures_before_delay: i32,
    pub login_lockout_after: i32,
    pub login_lockout_secs: i64,
    #[serde(default)]
    pub clients: Vec<OAuthClient>,
}

impl std::fmt::Debug for AuthServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServerConfig")
            .field("issuer", &self.issuer)
            .field("master_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    Local,
    Open,
    Closed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// The default quota of an API key, a user (per tenant), a client (per
    /// tenant, client credentials) or an address.
    pub per_minute: u32,
    pub burst: u32,
    /// Every tenant's ceiling over all its callers together, per minute.
    pub tenant_per_minute: u32,
    /// Ceilings of particular tenants: tenant id → per minute (the gateway
    /// refuses to start on a key that is not a UUID).
    #[serde(default)]
    pub tenant_ceilings: std::collections::BTreeMap<String, u32>,
    pub fail_mode: FailMode,
    pub redis_url: String,
    pub redis_timeout_ms: u64,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub upstream_timeout_secs: u64,
    pub api_key_cache_secs: u64,
    pub cors_allowed_origins: Vec<String>,
    pub audit_batch_size: usize,
    pub audit_flush_ms: u64,
    #[serde(default)]
    pub upstreams: std::collections::BTreeMap<String, String>,
    pub rate_limit: RateLimitConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    pub enabled: bool,
    pub amqp_url: String,
    pub prefix: String,
    pub publish_timeout_ms: u64,
    pub relay_batch: i64,
    /// A relay is woken when events commit; it also looks this often
    /// while it waits (the fallback, e.g. while it cannot listen).
    pub relay_poll_ms: u64,
    /// How long the archive stream keeps every event (RabbitMQ notation, e.g. `7D`).
    pub archive_max_age: psa_events::MaxAge,
    /// Queues unused this long are deleted by the broker and exchanges go
    /// with their last binding; 0 keeps the topology (production). Tests set
    /// it so that their per-test topology does not pile up in the broker.
    pub queue_expires_ms: u64,
}

impl EventsConfig {
    /// The bus settings these events settings describe.
    pub fn bus(&self) -> psa_events::BusConfig {
        psa_events::BusConfig {
            url: self.amqp_url.clone(),
            prefix: self.prefix.clone(),
            timeout: std::time::Duration::from_millis(self.publish_timeout_ms),
            queue_expiry: (self.queue_expires_ms > 0)
                .then(|| std::time::Duration::from_millis(self.queue_expires_ms)),
            archive_max_age: self.archive_max_age.clone(),
        }
    }

    /// The relay of a module's outbox (`schema`, events from `psa/<module>`) on `bus`.
    pub fn relay(
        &self,
        pool: sqlx::PgPool,
        schema: &'static str,
        module: &str,
        bus: std::sync::Arc<psa_events::Bus>,
    ) -> psa_events::outbox::Relay {
        psa_events::outbox::Relay {
            batch: self.relay_batch,
            poll_interval: std::time::Duration::from_millis(self.relay_poll_ms),
            ..psa_events::outbox::Relay::new(pool, schema, &format!("psa/{module}"), bus)
        }
    }
}

/// The notify module's deliveries (webhooks; `[notify]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The pause before each retry (ms), jittered; their number is the
    /// number of retries (defaults: 10 s, 60 s, 300 s: 4 attempts).
    pub retry_delays_ms: Vec<u64>,
    /// How long one attempt may take (a timeout is a failure).
    pub timeout_ms: u64,
    /// The longest `Retry-After` honoured (longer ones are cut to it).
    pub max_retry_after_secs: u64,
    /// Attempts in flight per subscription (a slow receiver slows only itself).
    pub per_endpoint_concurrency: u32,
    /// Attempts in flight per process.
    pub max_in_flight: usize,
    /// How often the dispatcher looks for due work besides being woken.
    pub poll_ms: u64,
    /// How long an old secret keeps signing after a rotation.
    pub rotation_grace_secs: i64,
    /// A subscription whose every delivery has failed this long is disabled.
    pub disable_after_failing_hours: i64,
    /// Messages one recipient gets per window before the rest are held and
    /// folded into one digest.
    pub recipient_cap: i64,
    pub recipient_cap_window_secs: i64,
    pub outbound: psa_outbound::OutboundPolicy,
}

impl NotifyConfig {
    /// The settings no deployment can run with, named by key.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("timeout_ms", self.timeout_ms as i64),
            (
                "per_endpoint_concurrency",
                i64::from(self.per_endpoint_concurrency),
            ),
            ("max_in_flight", self.max_in_flight as i64),
            ("poll_ms", self.poll_ms as i64),
            (
                "disable_after_failing_hours",
                self.disable_after_failing_hours,
            ),
            ("recipient_cap", self.recipient_cap),
            ("recipient_cap_window_secs", self.recipient_cap_window_secs),
        ];
        match positive.iter().find(|(_, v)| *v < 1) {
            Some((key, _)) => Err(format!("notify.{key} must be at least 1")),
            None if self.rotation_grace_secs < 0 => {
                Err("notify.rotation_grace_secs must not be negative".into())
            }
            None => Ok(()),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub auth_server: AuthServerConfig,
    pub gateway: GatewayConfig,
    pub events: EventsConfig,
    pub notify: NotifyConfig,
    pub telemetry: TelemetryConfig,
}

impl PlatformConfig {
    /// Defaults, then the file (if any), then `PSA_…` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, psa_config::ConfigError> {
        psa_config::load(DEFAULTS, file)
    }

    /// The deployment's master key (`auth_server.master_key` or its file),
    /// from which each module that seals secrets derives its own.
    pub fn master_key(
        &self,
    ) -> Result<psa_authn::sealing::MasterKey, psa_authn::sealing::MasterKeyError> {
        let a = &self.auth_server;
        psa_authn::sealing::MasterKey::load(&a.master_key, &a.master_key_file, a.create_master_key)
    }

    /// The platform's own token issuer URL.
    pub fn issuer(&self) -> String {
        if self.auth_server.issuer.is_empty() {
            self.http.public_url.trim_end_matches('/').to_owned()
        } else {
            self.auth_server.issuer.trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let cfg: PlatformConfig = psa_config::load(DEFAULTS, None).unwrap();
        assert_eq!(cfg.http.body_limit_bytes, 1024 * 1024);
        assert!(
            !cfg.auth.dev.enabled,
            "the dev key must be off unless configured"
        );
        assert_eq!(cfg.notify.check(), Ok(()));
    }

    #[test]
    fn notify_settings_nothing_could_run_with_are_named() {
        let mut cfg: PlatformConfig = psa_config::load(DEFAULTS, None).unwrap();
        cfg.notify.per_endpoint_concurrency = 0;
        assert_eq!(
            cfg.notify.check(),
            Err("notify.per_endpoint_concurrency must be at least 1".into())
        );
        cfg.notify.per_endpoint_concurrency = 4;
        cfg.notify.rotation_grace_secs = -1;
        assert!(
            cfg.notify
                .check()
                .unwrap_err()
                .contains("rotation_grace_secs")
        );
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod env_tests {
    use super::*;

    #[test]
    fn upstreams_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PSA_GATEWAY__UPSTREAMS__CRM", "http://crm:8080");
            let cfg = PlatformConfig::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                cfg.gateway.upstreams.get("crm").map(String::as_str),
                Some("http://crm:8080")
            );
            Ok(())
        });
    }

    #[test]
    fn tenant_ceilings_from_a_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "psa.toml",
                "[gateway.rate_limit.tenant_ceilings]\n\
                 0190f1c2-0000-7000-8000-000000000001 = 20000\n",
            )?;
            jail.set_env("PSA_GATEWAY__RATE_LIMIT__TENANT_PER_MINUTE", "7000");
            jail.set_env(
                "PSA_GATEWAY__RATE_LIMIT__TENANT_CEILINGS__0190F1C2000070008000000000000002",
                "100",
            );
            let cfg =
                PlatformConfig::load(Some(Path::new("psa.toml"))).map_err(|e| e.to_string())?;
            let rl = &cfg.gateway.rate_limit;
            assert_eq!(rl.tenant_per_minute, 7000);
            assert_eq!(
                rl.tenant_ceilings
                    .get("0190f1c2-0000-7000-8000-000000000001"),
                Some(&20000)
            );
            assert_eq!(rl.tenant_ceilings.len(), 2, "{:?}", rl.tenant_ceilings);
            Ok(())
        });
    }
}
