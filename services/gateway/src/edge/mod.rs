//! The front door: every module of the registry reachable under the
//! prefixes it declares, in-process or over HTTP (`gateway.upstreams`),
//! behind authentication, rate limits, the audit log of writes, CORS and
//! security headers; plus the merged OpenAPI document, docs and health.

mod authn;
mod forward;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
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
    let edge_router: Router = Router::new().fallback(forward::edge).with_state(state);
    let router = Router::new()
        .merge(docs)
        .merge(psa_http::health::routes(checks))
        .fallback_service(edge_router)
        .layer(axum::middleware::from_fn(security_headers))
        .layer(cors(&cfg.gateway.cors_allowed_origins));
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
