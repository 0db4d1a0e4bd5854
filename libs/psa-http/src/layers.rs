//! The cross-cutting layer stack, applied once by whoever serves a router
//! (one module alone or every module in one process).

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::context::{self, RequestContext};
use crate::problem::Problem;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
        }
    }
}

/// The answer for a path no route serves.
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND).with_detail("no such route")
}

/// Wraps a router with: request id in/out, problem context, tracing span,
/// metrics, timeout, body limit, panic → problem, and problem bodies for any
/// bare error response (unknown route, wrong method).
pub fn apply(router: Router, limits: &HttpLimits) -> Router {
    let timeout = limits.request_timeout;
    router
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(middleware::from_fn(move |req, next| {
            with_timeout(timeout, req, next)
        }))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("handler panicked");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
                    .with_detail(
                        "an internal error occurred; quote the request_id when reporting it",
                    )
                    .into_response()
            },
        ))
        .layer(middleware::from_fn(record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .make_span_with(|req: &Request| {
                    let request_id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let span = tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = %request_id,
                    );
                    psa_telemetry::continue_trace(&span, req.headers());
                    span
                }),
        )
        .layer(middleware::from_fn(request_context))
}

fn valid_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then_some(s)
}

/// Accepts a sane `X-Request-Id` or makes one, echoes it, and keeps it (with
/// the path) for error bodies. Bare error responses become problems here.
async fn request_context(mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(valid_request_id)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let header_value =
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("invalid"));
    req.headers_mut()
        .insert(REQUEST_ID.clone(), header_value.clone());
    let ctx = RequestContext {
        request_id,
        path: req.uri().path().to_owned(),
    };
    let mut res = context::scope(ctx.clone(), async move {
        let res = next.run(req).await;
        problem_for_bare_error(res)
    })
    .await;
    res.headers_mut().insert(REQUEST_ID.clone(), header_value);
    res
}

fn problem_for_bare_error(res: Response) -> Response {
    let status = res.status();
    // A response that already says what it is (problem+json, an HTML page) is kept.
    let has_body_type = res.headers().contains_key(header::CONTENT_TYPE);
    if !(status.is_client_error() || status.is_server_error()) || has_body_type {
        return res;
    }
    let mut problem = Problem::new(status);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        problem = problem.with_detail("this method is not allowed on this resource");
    }
    let kept = [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE];
    let mut out = problem.into_response();
    for name in kept {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

async fn with_timeout(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
            .with_detail("the request took too long and was abandoned")
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            .into_response(),
    }
}

/// A route label for metrics, set on a response by handlers that route
/// themselves (the gateway), where axum has no matched path.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

async fn record_metrics(req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map(|l| l.0.clone())
        .or(matched)
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    res
}
