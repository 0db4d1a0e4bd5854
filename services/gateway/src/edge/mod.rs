//! The front door: every module of the registry reachable under the
//! prefixes it declares, in-process or over HTTP (`gateway.upstreams`),
//! behind authentication, rate limits, the audit log of writes, CORS and
//! security headers; plus the merged OpenAPI document, docs and health.

pub(crate) mod authn;
pub(crate) mod forward;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use psa_authn::Verifier;
use psa_http::health::ReadinessCheck;
use psa_runtime::{Module, ModuleContext, PlatformConfig, Registry, Workers};

use crate::proxy::{self, Upstream};
use crate::routes;
use crate::state::GatewayState;

pub use forward::resource_id;

/// The whole front door for the platform `registry`: the `mount`ed modules
/// run in-process unless `gateway.upstreams` names a URL for them; the
/// others are reached at those URLs. Returns the app and the tasks to await
/// on shutdown (the audit writer's last flush).
pub fn app(
    cfg: &PlatformConfig,
    registry: Arc<Registry>,
    mount: &[&str],
    verifier: Arc<Verifier>,
) -> anyhow::Result<(Router, Vec<tokio::task::JoinHandle<()>>)> {
    let gateway = *registry
        .module("gateway")
        .ok_or_else(|| anyhow::anyhow!("the gateway is not a registered module"))?;
    let ctx = ModuleContext {
        config: Arc::new(cfg.clone()),
        verifier,
        registry: registry.clone(),
    };
    let pool = psa_db::module_pool(&cfg.database, &crate::DB)?;
    let mut upstreams: HashMap<&'static str, Upstream> = HashMap::new();
    let mut checks = vec![ReadinessCheck::postgres("gateway.postgres", pool.clone())];
    let client = proxy::http_client();
    for (name, base) in &cfg.gateway.upstreams {
        // Any registered module can be remote; it need not be linked in.
        let Some(module) = registry.module(name).filter(|m| m.name != gateway.name) else {
            anyhow::bail!("gateway.upstreams.{name}: no module of that name is registered");
        };
        let base = base.trim_end_matches('/').to_owned();
        checks.push(upstream_check(name, &base, client.clone()));
        upstreams.insert(
            module.name,
            Upstream::Http {
                base,
                client: Box::new(client.clone()),
            },
        );
    }
    let mut workers = Workers::new("gateway");
    for m in registry.select(mount)? {
        if m.name == gateway.name || cfg.gateway.upstreams.contains_key(m.name) {
            continue;
        }
        let mounted = psa_runtime::serve::mount_module(&ctx, &m)?;
        checks.extend(mounted.checks);
        workers.append(mounted.workers);
        upstreams.insert(m.name, Upstream::InProcess(mounted.router));
    }

    let (audit_tx, audit_task) = crate::workers::audit_writer(
        pool.clone(),
        cfg.gateway.audit_batch_size.max(1),
        Duration::from_millis(cfg.gateway.audit_flush_ms.max(1)),
    );
    let mut state = GatewayState::new(pool, &ctx, audit_tx)?;
    if cfg.gateway.rate_limit.enabled {
        let l = state.limiter.clone();
        checks.push(
            ReadinessCheck::new("gateway.redis", move || {
                let l = l.clone();
                async move { l.ping().await }
            })
            .informational(),
        );
    }
    upstreams.insert(
        gateway.name,
        Upstream::InProcess(routes::router(state.clone())),
    );
    // The document describes what this front door reaches.
    let reachable: Vec<Module> = registry
        .modules()
        .iter()
        .filter(|m| upstreams.contains_key(m.name))
        .copied()
        .collect();
    state.upstreams = Arc::new(upstreams);

    let docs: Router = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", psa_runtime::openapi::merged(&reachable))
        .into();
    // The edge is the fallback handler itself, not a router of its own: a
    // request to a module passes one router, then the module's.
    let front = Arc::new(FrontHeaders::new(&cfg.gateway.cors_allowed_origins));
    let graphql = Router::new()
        .route(
            "/graphql",
            axum::routing::get(crate::graphql::http::get).post(crate::graphql::http::post),
        )
        .route(
            "/graphql/assets/{file}",
            axum::routing::get(crate::graphql::graphiql::asset),
        )
        .with_state(state.clone());
    let router = Router::new()
        .merge(docs)
        .merge(graphql)
        .merge(psa_http::health::routes(checks))
        .fallback_service(forward::edge.with_state(state))
        .layer(axum::middleware::from_fn_with_state(front, front_headers));
    Ok((
        psa_runtime::serve::keep_alive(
            psa_http::layers::apply(router, &cfg.http.limits()),
            workers,
        ),
        vec![audit_task],
    ))
}

/// `/readyz` asks a remote module's own `/readyz` (informational: the
/// gateway stays ready when one module is down).
fn upstream_check(name: &str, base: &str, client: proxy::HttpClient) -> ReadinessCheck {
    let probe = format!("{base}/readyz");
    ReadinessCheck::new(format!("upstream.{name}"), move || {
        let (client, uri) = (client.clone(), probe.clone());
        async move {
            let uri: axum::http::Uri = uri.parse().map_err(|_| "bad upstream URL".to_owned())?;
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
    .informational()
}

/// CORS (as tower-http's `CorsLayer` with an origin list, the methods,
/// request and exposed headers below and a max age of 600 s would answer)
/// and the security headers, with every header value made once: this runs
/// on every request.
struct FrontHeaders {
    allowed_origins: Vec<HeaderValue>,
    vary: HeaderValue,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
}

impl FrontHeaders {
    fn new(origins: &[String]) -> Self {
        Self {
            allowed_origins: origins.iter().filter_map(|o| o.parse().ok()).collect(),
            vary: HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
            allow_methods: HeaderValue::from_static("GET,POST,PATCH,PUT,DELETE"),
            allow_headers: HeaderValue::from_static(
                "authorization,content-type,if-match,idempotency-key,x-request-id",
            ),
            expose_headers: HeaderValue::from_static(
                "etag,location,retry-after,x-request-id,ratelimit,ratelimit-policy",
            ),
            max_age: HeaderValue::from_static("600"),
        }
    }

    /// The origin, echoed when it is allowed.
    fn allowed_origin(&self, req: &Request) -> Option<HeaderValue> {
        req.headers()
            .get(header::ORIGIN)
            .filter(|o| self.allowed_origins.contains(o))
            .cloned()
    }
}

/// A preflight (any `OPTIONS`) is answered here; every other response gets
/// the CORS fields and the security headers (and, under `/v1/`, no caching).
async fn front_headers(
    State(front): State<Arc<FrontHeaders>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let origin = front.allowed_origin(&req);
    if req.method() == Method::OPTIONS {
        let mut res = Response::new(Body::empty());
        let h = res.headers_mut();
        h.insert(header::VARY, front.vary.clone());
        if let Some(origin) = origin {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            front.allow_methods.clone(),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            front.allow_headers.clone(),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, front.max_age.clone());
        return res;
    }
    let path = req.uri().path();
    let api = path.starts_with("/v1/") || path == "/graphql";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.append(header::VARY, front.vary.clone());
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        front.expose_headers.clone(),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api {
        // GraphiQL's page (at /graphql) brings its own policy.
        h.entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            ));
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn app(origins: &[&str]) -> Router {
        let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
        Router::new()
            .route("/v1/things", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(FrontHeaders::new(&origins)),
                front_headers,
            ))
    }

    async fn call(origins: &[&str], req: axum::http::Request<Body>) -> Response {
        app(origins).oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn an_allowed_origin_is_echoed_with_the_exposed_headers() {
        let req = axum::http::Request::get("/v1/things")
            .header(header::ORIGIN, "https://app.example")
            .body(Body::empty())
            .unwrap();
        let res = call(&["https://app.example"], req).await;
        let h = res.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert!(
            h[header::ACCESS_CONTROL_EXPOSE_HEADERS]
                .to_str()
                .unwrap()
                .contains("ratelimit-policy")
        );
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(h[header::VARY].to_str().unwrap().starts_with("origin"));
    }

    #[tokio::test]
    async fn another_origin_is_not_allowed() {
        let req = axum::http::Request::get("/v1/things")
            .header(header::ORIGIN, "https://evil.example")
            .body(Body::empty())
            .unwrap();
        let res = call(&["https://app.example"], req).await;
        assert_eq!(res.status(), 200);
        assert!(
            !res.headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }

    #[tokio::test]
    async fn a_preflight_is_answered_at_the_front_door() {
        let req = axum::http::Request::options("/v1/things")
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
            .body(Body::empty())
            .unwrap();
        let res = call(&["https://app.example"], req).await;
        assert_eq!(res.status(), 200);
        let h = res.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert!(
            h[header::ACCESS_CONTROL_ALLOW_METHODS]
                .to_str()
                .unwrap()
                .contains("PATCH")
        );
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
    }
}
