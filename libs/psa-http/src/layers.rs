//! The cross-cutting layer stack, applied once by whoever serves a router
//! (one module alone or every module in one process).

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

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
///
/// The per-request work is one middleware ([`around`]) rather than a layer
/// each: `Router::layer` wraps every route, and every layer of a route is
/// cloned, boxed and polled on every request, which is measurable at a few
/// thousand requests per second.
pub fn apply(router: Router, limits: &HttpLimits) -> Router {
    let limits = limits.clone();
    router
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(move |req, next| {
            around(limits.clone(), req, next)
        }))
}

/// Whether the request announces a body over `limit` (`Content-Length`):
/// refused before a byte of it is read (a client that sent
/// `Expect: 100-continue` sends none), rather than after reading `limit`.
fn announced_too_large(req: &Request, limit: usize) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!("handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR)
        .with_detail("an internal error occurred; quote the request_id when reporting it")
        .into_response()
}

fn valid_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then_some(s)
}

/// Everything a request goes through once, outermost: accepts a sane
/// `X-Request-Id` or makes one, echoes it, and keeps it (with the path) for
/// error bodies; runs the request in its tracing span (continuing the
/// caller's trace) within the time limit; turns bare error responses into
/// problems; logs and counts the response.
async fn around(limits: HttpLimits, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
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
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %path,
        request_id = %request_id,
    );
    psa_telemetry::continue_trace(&span, req.headers());
    let ctx = RequestContext { request_id, path };
    let mut res = context::scope(ctx, async move {
        if announced_too_large(&req, limits.body_limit_bytes) {
            return crate::extract::too_large().into_response();
        }
        let res = match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
            Ok(res) => res,
            Err(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                .with_detail("the request took too long and was abandoned")
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
                .into_response(),
        };
        problem_for_bare_error(res)
    })
    .instrument(span.clone())
    .await;
    let elapsed = started.elapsed();
    let status = res.status();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(parent: &span, latency_ms, status = status.as_u16(), "response failed");
    } else {
        tracing::info!(parent: &span, latency_ms, status = status.as_u16(), "finished processing request");
    }
    let route: metrics::SharedString = match (res.extensions().get::<RouteLabel>(), matched) {
        (Some(label), _) => label.0.into(),
        (None, Some(matched)) => matched.as_str().to_owned().into(),
        (None, None) => "unmatched".into(),
    };
    let labels = [
        metrics::Label::new("method", method_label(&method)),
        metrics::Label::new("route", route),
        metrics::Label::new("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", labels.iter()).increment(1);
    metrics::histogram!("http_request_duration_seconds", labels.iter())
        .record(elapsed.as_secs_f64());
    res.headers_mut().insert(REQUEST_ID.clone(), header_value);
    res
}

/// The method as a metrics label, without an allocation for the usual ones.
fn method_label(method: &Method) -> metrics::SharedString {
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    const NAMES: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match known.iter().position(|m| m == method) {
        Some(i) => NAMES[i].into(),
        None => method.as_str().to_owned().into(),
    }
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

/// A route label for metrics, set on a response by handlers that route
/// themselves (the gateway), where axum has no matched path.
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);
