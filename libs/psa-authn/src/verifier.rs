use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::Digest;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use crate::caller::Caller;
use crate::config::{AuthConfig, IssuerConfig};
use crate::keys::SigningKey;

const MAX_LEEWAY_SECS: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not acceptable (→ 401).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The keys to check it cannot be had (→ fail closed, 503).
    #[error("verification keys unavailable: {0}")]
    Unavailable(String),
}

fn invalid(why: impl Into<String>) -> AuthError {
    AuthError::Invalid(why.into())
}

enum KeySource {
    Static(JwkSet),
    File(PathBuf),
    Uri(String),
    Discovery(String),
}

#[derive(Default)]
struct KeyCache {
    keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
    fetched_at: Option<Instant>,
}

/// When keys were last fetched because of an unknown kid, and when a fetch last failed.
#[derive(Default)]
struct Refetch {
    unknown_kid: Option<Instant>,
    failure: Option<Instant>,
}

struct Issuer {
    cfg: IssuerConfig,
    algorithms: Vec<Algorithm>,
    source: KeySource,
    cache: RwLock<KeyCache>,
    refetch: Mutex<Refetch>,
}

/// Verifies bearer JWTs against the configured issuers.
pub struct Verifier {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    cache_ttl: Duration,
    cooldown: Duration,
    /// Tokens already verified, by SHA-256 of the whole token, until shortly
    /// before they expire: a signature check per request is the costliest part.
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], (Caller, i64)>>,
}

/// How long a verified token is remembered at most, and how many.
const VERIFIED_TTL_SECS: i64 = 60;
const VERIFIED_MAX: usize = 50_000;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "issuers",
                &self
                    .issuers
                    .iter()
                    .map(|i| &i.cfg.issuer)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>, String> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "RS256" => Ok(Algorithm::RS256),
            "RS384" => Ok(Algorithm::RS384),
            "RS512" => Ok(Algorithm::RS512),
            "PS256" => Ok(Algorithm::PS256),
            "ES256" => Ok(Algorithm::ES256),
            "ES384" => Ok(Algorithm::ES384),
            "EdDSA" => Ok(Algorithm::EdDSA),
            other => Err(format!(
                "algorithm {other} is not allowed (only asymmetric RS*, PS256, ES256/384, EdDSA)"
            )),
        })
        .collect()
}

impl Verifier {
    /// Builds the verifier from configuration; `dev_key` is the loaded
    /// development key when `auth.dev.enabled`.
    pub fn from_config(cfg: &AuthConfig, dev_key: Option<&SigningKey>) -> Result<Self, String> {
        let mut issuers = Vec::new();
        for ic in &cfg.issuers {
            let source = match (&ic.jwks_file, &ic.jwks_uri) {
                (Some(path), _) => KeySource::File(path.clone()),
                (None, Some(uri)) => KeySource::Uri(uri.clone()),
                (None, None) => KeySource::Discovery(format!(
                    "{}/.well-known/openid-configuration",
                    ic.issuer.trim_end_matches('/')
                )),
            };
            issuers.push(Issuer::new(ic.clone(), source)?);
        }
        if cfg.dev.enabled {
            let key = dev_key.ok_or("auth.dev.enabled needs the dev key loaded")?;
            let ic = IssuerConfig::new(cfg.dev.issuer.clone(), cfg.dev.audience.clone());
            issuers.push(Issuer::new(ic, KeySource::Static(key.jwks()))?);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            issuers,
            http,
            cache_ttl: Duration::from_secs(cfg.jwks_cache_secs),
            cooldown: Duration::from_secs(cfg.jwks_refetch_cooldown_secs),
            verified: Default::default(),
        })
    }

    /// A verifier that trusts exactly one static key set (tests, single-binary setups).
    pub fn with_static_keys(issuer: IssuerConfig, jwks: JwkSet) -> Result<Self, String> {
        Ok(Self {
            issuers: vec![Issuer::new(issuer, KeySource::Static(jwks))?],
            http: reqwest::Client::new(),
            cache_ttl: Duration::from_secs(600),
            cooldown: Duration::from_secs(30),
            verified: Default::default(),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        if let Some((caller, until)) = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            && *until > now
        {
            return Ok(caller.clone());
        }
        let caller = self.verify_uncached(token).await?;
        let exp = unverified_claims(token)?
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or(now);
        let until = exp.min(now + VERIFIED_TTL_SECS);
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= VERIFIED_MAX {
            cache.retain(|_, (_, u)| *u > now);
            if cache.len() >= VERIFIED_MAX {
                cache.clear();
            }
        }
        cache.insert(digest, (caller.clone(), until));
        Ok(caller)
    }

    async fn verify_uncached(&self, token: &str) -> Result<Caller, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| invalid(format!("header: {e}")))?;
        let unverified = unverified_claims(token)?;
        let iss = unverified
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("no iss"))?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.cfg.issuer == iss)
            .ok_or_else(|| invalid("untrusted issuer"))?;
        if !issuer.algorithms.contains(&header.alg) {
            return Err(invalid(format!("algorithm {:?} not allowed", header.alg)));
        }
        check_typ(header.typ.as_deref(), issuer.cfg.allow_plain_jwt)?;
        let key = self
            .key_for(issuer, header.kid.as_deref(), header.alg)
            .await?;

        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&issuer.cfg.issuer]);
        validation.set_audience(&issuer.cfg.audiences);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = issuer.cfg.leeway_secs.min(MAX_LEEWAY_SECS);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?;
        caller_from_claims(&issuer.cfg, &data.claims)
    }

    async fn key_for(
        &self,
        issuer: &Issuer,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, AuthError> {
        let fresh = |cache: &KeyCache| {
            matches!(issuer.source, KeySource::Static(_))
                || cache
                    .fetched_at
                    .is_some_and(|t| t.elapsed() < self.cache_ttl)
        };
        {
            let cache = issuer.cache.read().await;
            if fresh(&cache)
                && let Some(k) = find_key(&cache, kid, alg)
            {
                return Ok(k);
            }
        }
        // Stale, empty or an unknown kid: fetch again. Unknown kids refetch at
        // most once per cooldown, and so do retries after a failed fetch.
        let mut refetch = issuer.refetch.lock().await;
        {
            let cache = issuer.cache.read().await;
            let cooling = |t: Option<Instant>| t.is_some_and(|t| t.elapsed() < self.cooldown);
            if fresh(&cache) {
                if let Some(k) = find_key(&cache, kid, alg) {
                    return Ok(k);
                }
                if cooling(refetch.unknown_kid) {
                    return Err(invalid("unknown key id"));
                }
                refetch.unknown_kid = Some(Instant::now());
            } else if cooling(refetch.failure) {
                return Err(AuthError::Unavailable(
                    "keys could not be fetched recently".into(),
                ));
            }
        }
        match self.fetch(issuer).await {
            Ok(keys) => {
                let mut cache = issuer.cache.write().await;
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                find_key(&cache, kid, alg).ok_or_else(|| invalid("unknown key id"))
            }
            Err(e) => {
                refetch.failure = Some(Instant::now());
                tracing::warn!(issuer = %issuer.cfg.issuer, error = %e, "fetching JWKS failed");
                Err(AuthError::Unavailable(e))
            }
        }
    }

    async fn fetch(
        &self,
        issuer: &Issuer,
    ) -> Result<Vec<(Option<String>, Algorithm, DecodingKey)>, String> {
        let set: JwkSet = match &issuer.source {
            KeySource::Static(set) => set.clone(),
            KeySource::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
            }
            KeySource::Uri(uri) => self.get_json(uri).await?,
            KeySource::Discovery(url) => {
                let doc: Value = self.get_json(url).await?;
                if doc.get("issuer").and_then(Value::as_str) != Some(issuer.cfg.issuer.as_str()) {
                    return Err("discovery document names another issuer".into());
                }
                let uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or("discovery document has no jwks_uri")?;
                self.get_json(uri).await?
            }
        };
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| to_key(jwk, &issuer.algorithms))
            .collect())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let res = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("{url} answered {}", res.status()));
        }
        res.json().await.map_err(|e| e.to_string())
    }
}

impl Issuer {
    fn new(cfg: IssuerConfig, source: KeySource) -> Result<Self, String> {
        let algorithms = parse_algorithms(&cfg.algorithms)?;
        let mut cache = KeyCache::default();
        if let KeySource::Static(set) = &source {
            cache.keys = set
                .keys
                .iter()
                .filter_map(|j| to_key(j, &algorithms))
                .collect();
        }
        Ok(Self {
            cfg,
            algorithms,
            source,
            cache: RwLock::new(cache),
            refetch: Mutex::new(Refetch::default()),
        })
    }
}

/// The algorithm a JWK is for: its `alg` if given, else what its key type implies.
fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    if let Some(alg) = jwk.common.key_algorithm {
        return alg.to_string().parse().ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

fn to_key(jwk: &Jwk, allowed: &[Algorithm]) -> Option<(Option<String>, Algorithm, DecodingKey)> {
    if matches!(
        jwk.algorithm,
        jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
    ) {
        return None; // symmetric keys are never trusted
    }
    let alg = jwk_algorithm(jwk)?;
    if !allowed.contains(&alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((jwk.common.key_id.clone(), alg, key))
}

fn find_key(cache: &KeyCache, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let mut candidates = cache
        .keys
        .iter()
        .filter(|(_, a, _)| *a == alg || (is_rsa(*a) && is_rsa(alg)));
    match kid {
        Some(kid) => candidates
            .find(|(k, _, _)| k.as_deref() == Some(kid))
            .map(|(_, _, key)| key.clone()),
        // Without a kid only an unambiguous key set will do.
        None => {
            let first = candidates.next()?;
            candidates.next().is_none().then(|| first.2.clone())
        }
    }
}

fn is_rsa(a: Algorithm) -> bool {
    matches!(
        a,
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
    )
}

fn check_typ(typ: Option<&str>, allow_plain_jwt: bool) -> Result<(), AuthError> {
    let normalized = typ.map(|t| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(t)
    });
    match normalized.as_deref() {
        Some("at+jwt") => Ok(()),
        Some("jwt") | None if allow_plain_jwt => Ok(()),
        _ => Err(invalid("typ must be at+jwt")),
    }
}

fn unverified_claims(token: &str) -> Result<Value, AuthError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid("payload is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid("payload is not JSON"))
}

/// A claim by dot path (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |v, key| v.get(key))
}

fn caller_from_claims(cfg: &IssuerConfig, claims: &Value) -> Result<Caller, AuthError> {
    // Dates must be JSON numbers (RFC 7519 NumericDate); jsonwebtoken would
    // merely skip a string `nbf`.
    for name in ["exp", "nbf", "iat"] {
        match claims.get(name) {
            None => {}
            Some(v) if v.is_number() => {}
            Some(_) => return Err(invalid(format!("{name} is not a number"))),
        }
    }
    if !claims.get("exp").is_some_and(Value::is_number) {
        return Err(invalid("exp is required"));
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("sub is required"))?
        .to_owned();
    let tenant_id = match (cfg.tenant_id, claim(claims, &cfg.tenant_claim)) {
        (Some(fixed), _) => Some(fixed),
        (None, None | Some(Value::Null)) => None,
        (None, Some(Value::String(s))) => {
            Some(Uuid::parse_str(s).map_err(|_| invalid("tenant claim is not a UUID"))?)
        }
        (None, Some(_)) => return Err(invalid("tenant claim is not a string")),
    };
    let mut permissions: BTreeSet<String> = match claim(claims, &cfg.permissions_claim) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid("permissions must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("permissions must be a list")),
        None => claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    if let Some(path) = &cfg.roles_claim {
        let roles = claim(claims, path)
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for role in roles.filter_map(Value::as_str) {
            if let Some(granted) = cfg.role_permissions.get(role) {
                permissions.extend(granted.iter().cloned());
            }
        }
    }
    let client_id = claims
        .get("client_id")
        .or_else(|| claims.get("azp"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Caller {
        subject,
        tenant_id,
        client_id,
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer_cfg() -> IssuerConfig {
        IssuerConfig::new("https://issuer.test", "psa")
    }

    fn claims(now: i64) -> Value {
        json!({"iss": "https://issuer.test", "aud": "psa", "sub": "u1", "exp": now + 300,
               "tenant_id": Uuid::now_v7().to_string(), "permissions": ["customers:read"]})
    }

    async fn check(key: &SigningKey, typ: Option<&str>, c: Value) -> Result<Caller, AuthError> {
        let v = Verifier::with_static_keys(issuer_cfg(), key.jwks()).unwrap();
        v.verify(&key.sign_raw(typ, &c).unwrap()).await
    }

    #[tokio::test]
    async fn accepts_a_good_token_and_reads_claims() {
        let key = SigningKey::generate();
        let now = chrono::Utc::now().timestamp();
        let caller = check(&key, Some("at+jwt"), claims(now)).await.unwrap();
        assert_eq!(caller.subject, "u1");
        assert!(caller.permissions.contains("customers:read"));
        assert!(caller.tenant_id.is_some());
    }

    #[tokio::test]
    async fn rejects_forgeries() {
        let key = SigningKey::generate();
        let now = chrono::Utc::now().timestamp();
        let mut cases: Vec<(&str, Option<&str>, Value)> = Vec::new();
        let mut c = claims(now);
        c["exp"] = json!(now - 120);
        cases.push(("expired", Some("at+jwt"), c));
        let mut c = claims(now);
        c["exp"] = json!((now + 300).to_string());
        cases.push(("string exp", Some("at+jwt"), c));
        let mut c = claims(now);
        c["nbf"] = json!(now + 600);
        cases.push(("nbf in future", Some("at+jwt"), c));
        let mut c = claims(now);
        c["nbf"] = json!(now.to_string());
        cases.push(("string nbf", Some("at+jwt"), c));
        let mut c = claims(now);
        c["iss"] = json!("https://evil.test");
        cases.push(("wrong iss", Some("at+jwt"), c));
        let mut c = claims(now);
        c["aud"] = json!("other");
        cases.push(("wrong aud", Some("at+jwt"), c));
        cases.push(("plain JWT typ", Some("JWT"), claims(now)));
        let mut c = claims(now);
        c.as_object_mut().unwrap().remove("sub");
        cases.push(("no sub", Some("at+jwt"), c));
        for (name, typ, c) in cases {
            let res = check(&key, typ, c).await;
            assert!(matches!(res, Err(AuthError::Invalid(_))), "{name}: {res:?}");
        }
    }

    #[tokio::test]
    async fn rejects_another_keys_signature() {
        let trusted = SigningKey::generate();
        let other = SigningKey::generate();
        let v = Verifier::with_static_keys(issuer_cfg(), trusted.jwks()).unwrap();
        let token = other
            .sign_raw(Some("at+jwt"), &claims(chrono::Utc::now().timestamp()))
            .unwrap();
        assert!(matches!(v.verify(&token).await, Err(AuthError::Invalid(_))));
    }

    /// An external issuer (Keycloak-style): one tenant per issuer, realm roles
    /// mapped to permissions, plain `JWT` typ allowed.
    #[tokio::test]
    async fn external_issuer_maps_tenant_and_roles() {
        let key = SigningKey::generate();
        let tenant = Uuid::now_v7();
        let mut cfg = issuer_cfg();
        cfg.allow_plain_jwt = true;
        cfg.tenant_id = Some(tenant);
        cfg.roles_claim = Some("realm_access.roles".into());
        cfg.role_permissions = [
            (
                "psa-tech".to_owned(),
                vec!["tickets:read".to_owned(), "tickets:write".to_owned()],
            ),
            ("psa-billing".to_owned(), vec!["invoices:read".to_owned()]),
        ]
        .into();
        let v = Verifier::with_static_keys(cfg, key.jwks()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = key
            .sign_raw(
                Some("JWT"),
                &json!({"iss": "https://issuer.test", "aud": ["account", "psa"], "sub": "kc-user", "exp": now + 60,
                        "realm_access": {"roles": ["psa-tech", "offline_access"]}}),
            )
            .unwrap();
        let caller = v.verify(&token).await.unwrap();
        assert_eq!(caller.tenant_id, Some(tenant));
        let perms: Vec<&str> = caller.permissions.iter().map(String::as_str).collect();
        assert_eq!(perms, ["tickets:read", "tickets:write"]);
    }

    #[test]
    fn plain_jwt_only_where_allowed() {
        assert!(check_typ(Some("JWT"), true).is_ok());
        assert!(check_typ(None, true).is_ok());
        assert!(check_typ(Some("JWT"), false).is_err());
        assert!(check_typ(Some("application/at+jwt"), false).is_ok());
    }

    #[test]
    fn symmetric_algorithms_cannot_be_configured() {
        assert!(parse_algorithms(&["HS256".into()]).is_err());
        assert!(parse_algorithms(&["none".into()]).is_err());
    }
}

#[cfg(test)]
mod key_source_tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::config::{AuthConfig, DevKeyConfig};

    fn auth_config(issuer: IssuerConfig, cooldown_secs: u64) -> AuthConfig {
        AuthConfig {
            issuers: vec![issuer],
            dev: DevKeyConfig {
                enabled: false,
                key_file: "unused".into(),
                issuer: "urn:unused".into(),
                audience: "unused".into(),
            },
            jwks_cache_secs: 600,
            jwks_refetch_cooldown_secs: cooldown_secs,
            trust_own_issuer: false,
        }
    }

    fn token(key: &SigningKey, iss: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        key.sign_raw(
            Some("at+jwt"),
            &json!({"iss": iss, "aud": "psa", "sub": "svc", "exp": now + 60, "scope": "customers:read tickets:read"}),
        )
        .unwrap()
    }

    fn issuer(iss: &str) -> IssuerConfig {
        IssuerConfig::new(iss, "psa")
    }

    fn write_jwks(path: &std::path::Path, keys: &[&SigningKey]) {
        let all: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                serde_json::to_value(k.jwks()).unwrap()["keys"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .collect();
        std::fs::write(path, json!({"keys": all}).to_string()).unwrap();
    }

    /// A rotated key is picked up on first use (unknown kid → refetch); a
    /// second unknown kid within the cooldown is refused without a fetch.
    #[tokio::test]
    async fn unknown_kid_refetches_once_per_cooldown() {
        let dir = std::env::temp_dir().join(format!("psa-jwks-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwks.json");
        let (old, new, newer) = (
            SigningKey::generate(),
            SigningKey::generate(),
            SigningKey::generate(),
        );
        write_jwks(&path, &[&old]);
        let mut ic = issuer("https://file.test");
        ic.jwks_file = Some(path.clone());
        let v = Verifier::from_config(&auth_config(ic, 3600), None).unwrap();

        let caller = v.verify(&token(&old, "https://file.test")).await.unwrap();
        assert!(
            caller.permissions.contains("tickets:read"),
            "scope is the fallback permission claim"
        );
        assert!(caller.tenant_id.is_none());

        write_jwks(&path, &[&old, &new]);
        v.verify(&token(&new, "https://file.test"))
            .await
            .expect("rotated key accepted on first use");
        v.verify(&token(&old, "https://file.test"))
            .await
            .expect("old key still published, still accepted");

        write_jwks(&path, &[&old, &new, &newer]);
        let res = v.verify(&token(&newer, "https://file.test")).await;
        assert!(
            matches!(res, Err(AuthError::Invalid(_))),
            "within the cooldown: no refetch"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Keys come from the issuer's discovery document; when they cannot be
    /// had, verification fails closed.
    #[tokio::test]
    async fn discovery_and_fail_closed() {
        let key = SigningKey::generate();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let jwks = serde_json::to_value(key.jwks()).unwrap();
        let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || async move { axum::Json(jwks) }),
            );
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let v = Verifier::from_config(&auth_config(issuer(&base), 0), None).unwrap();
        v.verify(&token(&key, &base))
            .await
            .expect("keys from discovery");

        server.abort();
        let _ = server.await;
        let unreachable = "http://127.0.0.1:9";
        let v = Verifier::from_config(&auth_config(issuer(unreachable), 0), None).unwrap();
        let res =
            tokio::time::timeout(Duration::from_secs(10), v.verify(&token(&key, unreachable)))
                .await
                .unwrap();
        assert!(matches!(res, Err(AuthError::Unavailable(_))), "{res:?}");
    }
}
