//! API gateway: the one front door. Routes `/v1` (and the OIDC paths) to the
//! modules, in-process or over HTTP; authenticates at the edge (JWTs, and API
//! keys exchanged for short-lived JWTs); rate-limits per key or client with
//! GCRA in Redis; logs every write to its audit log; serves the merged
//! OpenAPI document, docs, health, readiness per upstream and metrics.

pub mod audit;
pub mod proxy;
pub mod ratelimit;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_authn::{AuthError as TokenError, Caller, HasVerifier, Verifier};
use psa_http::Problem;
use psa_http::health::ReadinessCheck;
use psa_http::layers::RouteLabel;
use psa_runtime::{Module, ModuleContext, PlatformConfig};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::sync::mpsc;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;
use uuid::Uuid;

use crate::proxy::Upstream;
use crate::ratelimit::{Decision, RateLimiter, Source};

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/gateway");

pub const DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "gateway",
    schema: "gateway",
    role: "psa_gateway",
    migrator: &MIGRATOR,
    // Its audit log needs only the base: current_tenant() and isolate_by_tenant(…).
    platform: &[],
};

/// Public path prefixes and the module that serves each (API.md's entry points).
pub const ROUTES: &[(&str, &str)] = &[
    ("/v1/customers", "crm"),
    ("/v1/contacts", "crm"),
    ("/v1/sites", "crm"),
    ("/v1/contracts", "crm"),
    ("/v1/tickets", "tickets"),
    ("/v1/time-entries", "tickets"),
    ("/v1/invoices", "billing"),
    ("/v1/invoice-runs", "billing"),
    ("/v1/assets", "assets"),
    ("/v1/licenses", "assets"),
    ("/v1/webhooks", "notify"),
    ("/v1/dead-letters", "notify"),
    ("/v1/users", "auth"),
    ("/v1/roles", "auth"),
    ("/v1/service-accounts", "auth"),
    ("/v1/api-keys", "auth"),
    ("/v1/tenants", "auth"),
    ("/v1/audit-events", "auth"),
    ("/v1/audit-log", "gateway"),
    ("/oauth", "auth"),
    ("/.well-known", "auth"),
];

/// Prefixes reachable without a token (the OIDC endpoints themselves).
const PUBLIC: &[&str] = &["/oauth", "/.well-known"];

pub fn route(path: &str) -> Option<(&'static str, &'static str)> {
    ROUTES
        .iter()
        .find(|(prefix, _)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .copied()
}

struct CachedKey {
    token: String,
    caller: Caller,
    limit: Option<u32>,
    until: Instant,
}

#[derive(Clone)]
pub struct GatewayState {
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    pub config: Arc<PlatformConfig>,
    upstreams: Arc<HashMap<&'static str, Upstream>>,
    limiter: Arc<RateLimiter>,
    api_keys: Arc<Mutex<HashMap<[u8; 32], CachedKey>>>,
    audit: mpsc::Sender<audit::AuditEntry>,
}

impl HasVerifier for GatewayState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}

/// The gateway's own API (its audit log).
pub fn routes() -> OpenApiRouter<GatewayState> {
    OpenApiRouter::new().routes(r!(audit::list))
}

pub fn openapi() -> OpenApi {
    routes().split_for_parts().1
}

/// The gateway as a module: its migrations, its OpenAPI part, and, mounted
/// beside others (without the front door), just its audit-log API. In front
/// of the modules it is served by [`app`].
pub fn module() -> Module {
    Module {
        name: "gateway",
        db: DB,
        permissions: &["audit:read"],
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &DB)?;
            let (audit, _) = audit::start(pool.clone(), 1, Duration::from_millis(200));
            let state = GatewayState {
                pool: pool.clone(),
                verifier: ctx.verifier.clone(),
                config: ctx.config.clone(),
                upstreams: Arc::new(HashMap::new()),
                limiter: Arc::new(RateLimiter::new(ctx.config.gateway.rate_limit.clone())),
                api_keys: Arc::new(Mutex::new(HashMap::new())),
                audit,
            };
            Ok(psa_runtime::Mounted {
                router: routes().split_for_parts().0.with_state(state),
                checks: vec![ReadinessCheck::postgres("gateway.postgres", pool)],
            })
        },
        openapi,
    }
}

/// Who is calling, as far as rate limits and the audit log are concerned.
struct Identity {
    caller: Option<Caller>,
    rate_key: String,
    limit: u32,
}

/// The whole front door: `modules` are mounted in-process unless
/// `gateway.upstreams` names a URL for them. Returns the app and the tasks to
/// await on shutdown (the audit writer's last flush).
pub fn app(
    cfg: &PlatformConfig,
    modules: &[Module],
    verifier: Arc<Verifier>,
) -> anyhow::Result<(Router, Vec<tokio::task::JoinHandle<()>>)> {
    let config = Arc::new(cfg.clone());
    let ctx = ModuleContext {
        config: config.clone(),
        verifier: verifier.clone(),
    };
    let pool = psa_db::module_pool(&cfg.database, &DB)?;
    let mut upstreams: HashMap<&'static str, Upstream> = HashMap::new();
    let mut checks = vec![ReadinessCheck::postgres("gateway.postgres", pool.clone())];
    let client = proxy::http_client();
    for (name, base) in &cfg.gateway.upstreams {
        // Any module the route table knows can be remote; it need not be linked in.
        let Some(module_name) = ROUTES.iter().map(|(_, m)| *m).find(|m| m == name) else {
            anyhow::bail!("gateway.upstreams.{name}: no route leads to a module of that name");
        };
        let base = base.trim_end_matches('/').to_owned();
        let probe = format!("{base}/readyz");
        let probe_client = client.clone();
        checks.push(
            ReadinessCheck::new(format!("upstream.{name}"), move || {
                let (client, uri) = (probe_client.clone(), probe.clone());
                async move {
                    let uri: axum::http::Uri =
                        uri.parse().map_err(|_| "bad upstream URL".to_owned())?;
                    let req = axum::http::Request::get(uri)
                        .body(Body::empty())
                        .map_err(|e| e.to_string())?;
                    match client.request(req).await {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("answered {}", r.status())),
                        Err(e) => Err(e.to_string()),
                    }
                }
            })
            .informational(),
        );
        upstreams.insert(
            module_name,
            Upstream::Http {
                base,
                client: Box::new(client.clone()),
            },
        );
    }
    for m in modules
        .iter()
        .filter(|m| !cfg.gateway.upstreams.contains_key(m.name))
    {
        let mounted =
            (m.mount)(&ctx).map_err(|e| anyhow::anyhow!("mounting module {}: {e:#}", m.name))?;
        checks.extend(mounted.checks);
        upstreams.insert(m.name, Upstream::InProcess(mounted.router));
    }

    let limiter = Arc::new(RateLimiter::new(cfg.gateway.rate_limit.clone()));
    if cfg.gateway.rate_limit.enabled {
        let l = limiter.clone();
        checks.push(
            ReadinessCheck::new("gateway.redis", move || {
                let l = l.clone();
                async move { l.ping().await }
            })
            .informational(),
        );
    }
    let (audit_tx, audit_task) = audit::start(
        pool.clone(),
        cfg.gateway.audit_batch_size.max(1),
        Duration::from_millis(cfg.gateway.audit_flush_ms.max(1)),
    );
    let mut state = GatewayState {
        pool,
        verifier,
        config,
        upstreams: Arc::new(HashMap::new()),
        limiter,
        api_keys: Arc::new(Mutex::new(HashMap::new())),
        audit: audit_tx,
    };
    upstreams.insert(
        "gateway",
        Upstream::InProcess(routes().split_for_parts().0.with_state(state.clone())),
    );
    state.upstreams = Arc::new(upstreams);

    let mut all: Vec<Module> = modules.to_vec();
    all.push(module());
    let docs: Router = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", psa_runtime::openapi::merged(&all))
        .into();
    let edge_router: Router = Router::new().fallback(edge).with_state(state);
    let router = Router::new()
        .merge(docs)
        .merge(psa_http::health::routes(checks))
        .fallback_service(edge_router)
        .layer(axum::middleware::from_fn(security_headers))
        .layer(cors(&cfg.gateway.cors_allowed_origins));
    Ok((
        psa_http::layers::apply(router, &cfg.http.limits()),
        vec![audit_task],
    ))
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(Duration::from_secs(600))
}

async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/v1/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if api {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn rate_headers(headers: &mut HeaderMap, d: &Decision) {
    let pairs = [
        (
            "ratelimit-policy",
            format!("\"default\";q={};w={}", d.limit, ratelimit::WINDOW_SECS),
        ),
        (
            "ratelimit",
            format!("\"default\";r={};t={}", d.remaining, d.reset_secs),
        ),
        ("ratelimit-limit", d.limit.to_string()),
        ("ratelimit-remaining", d.remaining.to_string()),
        ("ratelimit-reset", d.reset_secs.to_string()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    }
}

/// Everything not served by the gateway itself passes here.
async fn edge(State(state): State<GatewayState>, mut req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let Some((prefix, module)) = route(&path) else {
        return psa_http::layers::not_found().await.into_response();
    };
    let Some(upstream) = state.upstreams.get(module) else {
        return psa_http::layers::not_found().await.into_response();
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let host = req.headers().get(header::HOST).cloned();
    proxy::set_forwarded(req.headers_mut(), peer, host);

    let identity = if PUBLIC.contains(&prefix) {
        Identity {
            caller: None,
            rate_key: format!(
                "ip:{}",
                peer.map(|p| p.ip().to_string()).unwrap_or_default()
            ),
            limit: state.limiter.default_limit(),
        }
    } else {
        match authenticate(&state, &mut req).await {
            Ok(id) => id,
            Err(p) => {
                // Failed credentials count against the client's address, so
                // guessing is slowed down like any other unauthenticated traffic.
                if state.config.gateway.rate_limit.enabled {
                    let ip_key = format!(
                        "ip:{}",
                        peer.map(|p| p.ip().to_string()).unwrap_or_default()
                    );
                    let (d, _) = state
                        .limiter
                        .check(&ip_key, state.limiter.default_limit())
                        .await;
                    if !d.allowed {
                        let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS)
                            .with_detail("rate limit exceeded")
                            .with_header(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs))
                            .into_response();
                        rate_headers(res.headers_mut(), &d);
                        return labelled(res, prefix);
                    }
                }
                return labelled(p.into_response(), prefix);
            }
        }
    };

    let decision = if state.config.gateway.rate_limit.enabled {
        let (d, source) = state
            .limiter
            .check(&identity.rate_key, identity.limit)
            .await;
        if source == Source::Closed {
            return labelled(
                Problem::service_unavailable("rate limiting is unavailable", 1).into_response(),
                prefix,
            );
        }
        if !d.allowed {
            metrics::counter!("gateway_rate_limited_total").increment(1);
            let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS)
                .with_detail("rate limit exceeded")
                .with_header(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs))
                .into_response();
            rate_headers(res.headers_mut(), &d);
            return labelled(res, prefix);
        }
        Some(d)
    } else {
        None
    };

    let method = req.method().clone();
    let is_write = path.starts_with("/v1/")
        && matches!(
            method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let timeout = Duration::from_secs(state.config.gateway.upstream_timeout_secs);
    let mut res = upstream.forward(module, req, timeout).await;
    if let Some(d) = decision {
        rate_headers(res.headers_mut(), &d);
    }
    if is_write && let Some(caller) = identity.caller.as_ref().filter(|c| c.tenant_id.is_some()) {
        let entry = audit::AuditEntry {
            id: Uuid::now_v7(),
            tenant_id: caller.tenant_id.unwrap_or_default(),
            request_id,
            subject: caller.subject.clone(),
            client_id: caller.client_id.clone(),
            method: method.to_string(),
            path: path.clone(),
            resource_id: resource_id(&path, res.headers()),
            status: res.status().as_u16() as i16,
            created_at: chrono::Utc::now(),
        };
        if state.audit.send(entry).await.is_err() {
            tracing::error!("the audit writer is gone; an audit entry was not recorded");
        }
    }
    labelled(res, prefix)
}

fn labelled(mut res: Response, prefix: &str) -> Response {
    res.extensions_mut().insert(RouteLabel(prefix.to_owned()));
    res
}

/// The resource a write touched: the created one's id from `Location`, else
/// the last id in the path.
fn resource_id(path: &str, headers: &HeaderMap) -> Option<String> {
    let from_location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .filter(|s| Uuid::parse_str(s).is_ok());
    from_location
        .or_else(|| path.split('/').rev().find(|s| Uuid::parse_str(s).is_ok()))
        .map(str::to_owned)
}

fn token_problem(err: TokenError) -> Problem {
    match err {
        TokenError::Invalid(why) => {
            tracing::info!(reason = %why, "token rejected at the edge");
            Problem::unauthorized(
                Some("invalid_token"),
                "the bearer token is invalid or expired",
            )
        }
        TokenError::Unavailable(why) => {
            tracing::warn!(reason = %why, "token keys unavailable at the edge");
            Problem::service_unavailable("token verification keys are unavailable", 5)
        }
    }
}

async fn authenticate(state: &GatewayState, req: &mut Request) -> Result<Identity, Problem> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized(None, "a bearer token is required"))?
        .to_str()
        .ok()
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Problem::unauthorized(Some("invalid_request"), "use the Bearer scheme"))?;
    if token.starts_with("psa_") {
        let (jwt, caller, limit) = api_key(state, &token).await?;
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {jwt}")) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
        return Ok(Identity {
            rate_key: format!("key:{}", caller.subject),
            limit: limit.unwrap_or(state.limiter.default_limit()),
            caller: Some(caller),
        });
    }
    let caller = state.verifier.verify(&token).await.map_err(token_problem)?;
    Ok(Identity {
        rate_key: format!(
            "client:{}",
            caller.client_id.as_deref().unwrap_or(&caller.subject)
        ),
        limit: state.limiter.default_limit(),
        caller: Some(caller),
    })
}

/// Exchanges an API key for a short-lived token at the auth module (cached briefly).
async fn api_key(
    state: &GatewayState,
    key: &str,
) -> Result<(String, Caller, Option<u32>), Problem> {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    {
        let cache = state.api_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&digest).filter(|c| c.until > Instant::now()) {
            return Ok((c.token.clone(), c.caller.clone(), c.limit));
        }
    }
    let auth = state
        .upstreams
        .get("auth")
        .ok_or_else(|| Problem::service_unavailable("API keys need the auth module", 5))?;
    let form = serde_urlencoded::to_string([
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("subject_token_type", "urn:psa:token-type:api-key"),
        ("subject_token", key),
    ])
    .map_err(|e| Problem::internal(&e))?;
    let req = axum::http::Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| Problem::internal(&e))?;
    let res = auth
        .forward(
            "auth",
            req,
            Duration::from_secs(state.config.gateway.upstream_timeout_secs),
        )
        .await;
    let status = res.status();
    if status.is_server_error() {
        return Err(Problem::service_unavailable(
            "the auth service is unavailable",
            5,
        ));
    }
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .map_err(|_| Problem::service_unavailable("the auth service is unavailable", 5))?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let Some(jwt) = body["access_token"]
        .as_str()
        .filter(|_| status.is_success())
    else {
        return Err(Problem::unauthorized(
            Some("invalid_token"),
            "the API key is invalid, expired or revoked",
        ));
    };
    let caller = state.verifier.verify(jwt).await.map_err(token_problem)?;
    let limit = body["rate_limit_per_minute"].as_u64().map(|l| l as u32);
    let ttl = body["expires_in"]
        .as_u64()
        .unwrap_or(60)
        .saturating_sub(30)
        .min(state.config.gateway.api_key_cache_secs);
    let mut cache = state.api_keys.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() > 10_000 {
        cache.retain(|_, c| c.until > Instant::now());
    }
    cache.insert(
        digest,
        CachedKey {
            token: jwt.to_owned(),
            caller: caller.clone(),
            limit,
            until: Instant::now() + Duration::from_secs(ttl),
        },
    );
    Ok((jwt.to_owned(), caller, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_segments() {
        assert_eq!(route("/v1/customers"), Some(("/v1/customers", "crm")));
        assert_eq!(
            route("/v1/customers/1/contacts"),
            Some(("/v1/customers", "crm"))
        );
        assert_eq!(route("/v1/customersX"), None);
        assert_eq!(route("/oauth/token"), Some(("/oauth", "auth")));
        assert_eq!(route("/v1/nothing"), None);
    }

    #[test]
    fn resource_id_prefers_location() {
        let mut h = HeaderMap::new();
        let id = Uuid::now_v7();
        h.insert(
            header::LOCATION,
            HeaderValue::from_str(&format!("/v1/customers/{id}")).unwrap(),
        );
        assert_eq!(resource_id("/v1/customers", &h), Some(id.to_string()));
        let other = Uuid::now_v7();
        assert_eq!(
            resource_id(&format!("/v1/customers/{other}"), &HeaderMap::new()),
            Some(other.to_string())
        );
    }
}
