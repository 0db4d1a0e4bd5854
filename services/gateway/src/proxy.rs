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

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers only the gateway may set; a client's own are dropped.
const GATEWAY_ONLY: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
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
    for h in HOP_BY_HOP {
        headers.remove(h);
    }
}

/// Sets X-Forwarded-* from what the gateway saw, replacing the client's.
pub fn set_forwarded(headers: &mut HeaderMap, peer: Option<SocketAddr>, host: Option<HeaderValue>) {
    for h in GATEWAY_ONLY {
        headers.remove(h);
    }
    if let Some(ip) = peer.and_then(|p| HeaderValue::from_str(&p.ip().to_string()).ok()) {
        headers.insert("x-forwarded-for", ip.clone());
        headers.insert("x-real-ip", ip);
    }
    if let Some(h) = host {
        headers.insert("x-forwarded-host", h);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
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
