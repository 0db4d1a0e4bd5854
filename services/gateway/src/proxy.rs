//! Forwarding to a module: in-process (a router) or over HTTP (a pooled
//! client, streaming both ways), with hop-by-hop headers removed and the
//! forwarding headers set by the gateway alone.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use psa_http::Problem;
use tower::ServiceExt;

pub type HttpClient = Client<HttpConnector, Body>;

pub fn http_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build(connector)
}

#[derive(Clone)]
pub enum Upstream {
    InProcess(Router),
    Http {
        base: String,
        client: Box<HttpClient>,
    },
}

static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// The hop-by-hop headers (RFC 9110 §7.6.1), besides those `Connection` names.
fn hop_by_hop() -> [&'static HeaderName; 8] {
    [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ]
}

/// Headers only the gateway may set; a client's own are dropped.
fn gateway_only() -> [&'static HeaderName; 5] {
    [
        &header::FORWARDED,
        &X_FORWARDED_FOR,
        &X_FORWARDED_HOST,
        &X_FORWARDED_PROTO,
        &X_REAL_IP,
    ]
}

pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for n in named {
            headers.remove(n);
        }
    }
    for h in hop_by_hop() {
        headers.remove(h);
    }
}

/// Sets X-Forwarded-* from what the gateway saw, replacing the client's.
pub fn set_forwarded(headers: &mut HeaderMap, peer: Option<SocketAddr>, host: Option<HeaderValue>) {
    for h in gateway_only() {
        headers.remove(h);
    }
    if let Some(ip) = peer.and_then(|p| HeaderValue::try_from(p.ip().to_string()).ok()) {
        headers.insert(X_FORWARDED_FOR.clone(), ip.clone());
        headers.insert(X_REAL_IP.clone(), ip);
    }
    if let Some(h) = host {
        headers.insert(X_FORWARDED_HOST.clone(), h);
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
}

impl Upstream {
    pub async fn forward(
        &self,
        module: &str,
        mut req: Request<Body>,
        timeout: Duration,
    ) -> Response<Body> {
        strip_hop_by_hop(req.headers_mut());
        let mut res = match self {
            Upstream::InProcess(router) => match router.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            },
            Upstream::Http { base, client } => {
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let uri: Uri = match format!("{}{path}", base.trim_end_matches('/')).parse() {
                    Ok(u) => u,
                    Err(_) => {
                        return Problem::bad_request("the request path cannot be forwarded")
                            .into_response();
                    }
                };
                *req.uri_mut() = uri;
                req.headers_mut().remove(header::HOST);
                psa_telemetry::inject_trace(&tracing::Span::current(), req.headers_mut());
                match tokio::time::timeout(timeout, client.request(req)).await {
                    Ok(Ok(res)) => res.map(Body::new),
                    Ok(Err(e)) => {
                        tracing::warn!(module, error = %e, "upstream unavailable");
                        metrics::counter!("gateway_upstream_errors_total", "module" => module.to_owned(), "kind" => "unavailable").increment(1);
                        return Problem::service_unavailable(
                            format!("the {module} service is unavailable"),
                            5,
                        )
                        .into_response();
                    }
                    Err(_) => {
                        tracing::warn!(
                            module,
                            timeout_secs = timeout.as_secs(),
                            "upstream timed out"
                        );
                        metrics::counter!("gateway_upstream_errors_total", "module" => module.to_owned(), "kind" => "timeout").increment(1);
                        return Problem::new(StatusCode::GATEWAY_TIMEOUT)
                            .with_detail(format!("the {module} service did not answer in time"))
                            .into_response();
                    }
                }
            }
        };
        strip_hop_by_hop(res.headers_mut());
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-request-id", HeaderValue::from_static("r"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-request-id"));
    }

    #[test]
    fn forwarded_headers_are_the_gateway_s() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        set_forwarded(
            &mut h,
            Some("10.1.2.3:5555".parse().unwrap()),
            Some(HeaderValue::from_static("api.example")),
        );
        assert_eq!(h["x-forwarded-for"], "10.1.2.3");
        assert!(!h.contains_key("forwarded"));
        assert_eq!(h["x-forwarded-host"], "api.example");
    }
}
