use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use uuid::Uuid;

/// One trusted token issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Compared exactly with the token's `iss`.
    pub issuer: String,
    /// The token's `aud` must contain one of these.
    pub audiences: Vec<String>,
    /// JWKS location; when neither this nor `jwks_file` is set, it comes from
    /// `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Accept `typ: JWT` (or no `typ`) as Keycloak and Entra ID issue them.
    #[serde(default)]
    pub allow_plain_jwt: bool,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// A list claim of `resource:action` strings; `scope` (space-separated) is the fallback.
    #[serde(default = "default_permissions_claim")]
    pub permissions_claim: String,
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Every token of this issuer belongs to this tenant (e.g. one Keycloak
    /// realm per tenant); otherwise the tenant comes from `tenant_claim`.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// A claim holding role or group names (dot path: `realm_access.roles`, `groups`).
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// Role or group name → the permissions it grants.
    #[serde(default)]
    pub role_permissions: BTreeMap<String, Vec<String>>,
}

impl IssuerConfig {
    /// An issuer with the default claim names, algorithms and leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            jwks_uri: None,
            jwks_file: None,
            allow_plain_jwt: false,
            tenant_claim: default_tenant_claim(),
            permissions_claim: default_permissions_claim(),
            algorithms: default_algorithms(),
            leeway_secs: default_leeway(),
            tenant_id: None,
            roles_claim: None,
            role_permissions: BTreeMap::new(),
        }
    }
}

fn default_tenant_claim() -> String {
    "tenant_id".into()
}
fn default_permissions_claim() -> String {
    "permissions".into()
}
fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into(), "EdDSA".into()]
}
fn default_leeway() -> u64 {
    30
}

/// The development signing key: off unless configured. When on, tokens it
/// signs (`psa dev-token`) are accepted as from issuer `issuer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevKeyConfig {
    pub enabled: bool,
    /// PKCS#8 Ed25519 key; created on first use when missing.
    pub key_file: PathBuf,
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    pub dev: DevKeyConfig,
    /// How long fetched keys are trusted before they are fetched again.
    pub jwks_cache_secs: u64,
    /// The least time between two refetches caused by unknown key ids.
    pub jwks_refetch_cooldown_secs: u64,
    /// Trust tokens of the platform's own auth module.
    pub trust_own_issuer: bool,
}
