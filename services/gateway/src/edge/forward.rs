//! One request through the front door: route by the registry, authenticate
//! (unless the prefix is public), rate-limit, forward, record writes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_authn::{Caller, Verified};
use psa_http::Problem;
use psa_http::layers::RouteLabel;
use uuid::Uuid;

use super::authn::{Identity, authenticate};
use crate::domain::audit::AuditEntry;
use crate::proxy::{self, Upstream};
use crate::ratelimit::{self, Bucket, Decision, Source};
use crate::state::GatewayState;

/// The fields of the quota that applied (see [`ratelimit::verdict`]).
pub(crate) fn rate_headers(headers: &mut HeaderMap, d: &Decision) {
    use std::fmt::Write as _;
    let policy = d.policy.name();
    let mut field = String::with_capacity(32);
    let _ = write!(
        field,
        "\"{policy}\";q={};w={}",
        d.limit,
        ratelimit::WINDOW_SECS
    );
    if let Ok(v) = HeaderValue::try_from(field) {
        headers.insert(RATELIMIT_POLICY.clone(), v);
    }
    let mut field = String::with_capacity(32);
    let _ = write!(field, "\"{policy}\";r={};t={}", d.remaining, d.reset_secs);
    if let Ok(v) = HeaderValue::try_from(field) {
        headers.insert(RATELIMIT.clone(), v);
    }
    headers.insert(RATELIMIT_LIMIT.clone(), HeaderValue::from(d.limit));
    headers.insert(RATELIMIT_REMAINING.clone(), HeaderValue::from(d.remaining));
    headers.insert(RATELIMIT_RESET.clone(), HeaderValue::from(d.reset_secs));
}

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

pub(crate) fn rate_limited(d: &Decision) -> Response {
    let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS)
        .with_detail("rate limit exceeded")
        .with_header(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs))
        .into_response();
    rate_headers(res.headers_mut(), d);
    res
}

pub(crate) fn client_ip(peer: Option<SocketAddr>) -> Bucket {
    Bucket::ip(&peer.map(|p| p.ip().to_string()).unwrap_or_default())
}

/// Everything not served by the gateway itself passes here.
pub(super) async fn edge(State(state): State<GatewayState>, mut req: Request) -> Response {
    // A cheap clone (shared bytes), kept for the audit entry of a write.
    let uri = req.uri().clone();
    let path = uri.path();
    let Some(route) = state.registry.route(path) else {
        return psa_http::layers::not_found().await.into_response();
    };
    let (prefix, module) = (route.prefix, route.module);
    let Some(upstream) = state.upstreams.get(module) else {
        return psa_http::layers::not_found().await.into_response();
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let host = req.headers().get(header::HOST).cloned();
    proxy::set_forwarded(req.headers_mut(), peer, host);

    let identity = if route.public {
        Identity {
            caller: None,
            bucket: client_ip(peer),
        }
    } else {
        match identify(&state, &mut req, peer).await {
            Ok(id) => id,
            Err(res) => return labelled(res, prefix),
        }
    };

    let decision = match admit(&state, &identity.bucket).await {
        Ok(d) => d,
        Err(res) => return labelled(res, prefix),
    };

    let method = req.method().clone();
    let is_write = path.starts_with("/v1/")
        && matches!(
            method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
    let request_id = is_write.then(|| {
        req.headers()
            .get(&psa_http::layers::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    });
    let timeout = Duration::from_secs(state.config.gateway.upstream_timeout_secs);
    let caller = identity.caller.map(Arc::new);
    if let (Some(caller), Upstream::InProcess(_)) = (&caller, upstream) {
        // The module in this process need not verify the same token again.
        req.extensions_mut().insert(Verified(caller.clone()));
    }
    let mut res = upstream.forward(module, req, timeout).await;
    if let Some(d) = decision {
        rate_headers(res.headers_mut(), &d);
    }
    if let (Some(request_id), Some(caller)) = (request_id, caller.as_deref()) {
        record_write(
            &state.audit,
            caller,
            request_id,
            &method,
            path,
            res.headers(),
            res.status(),
        )
        .await;
    }
    labelled(res, prefix)
}

/// The caller of a request that needs credentials, or the answer to give:
/// 401 (or 429 when the client's address has guessed too often — failed
/// credentials count against it, so guessing is slowed down like any other
/// unauthenticated traffic). An API key is exchanged and the request's
/// `Authorization` replaced by the token it is exchanged for.
pub(crate) async fn identify(
    state: &GatewayState,
    req: &mut Request,
    peer: Option<SocketAddr>,
) -> Result<Identity, Response> {
    match authenticate(state, req).await {
        Ok(id) => Ok(id),
        Err(p) => {
            if state.config.gateway.rate_limit.enabled {
                let (d, _) = state.limiter.check(&client_ip(peer)).await;
                if !d.allowed {
                    return Err(rate_limited(&d));
                }
            }
            Err(p.into_response())
        }
    }
}

/// One request drawn from `bucket` (when rate limits are on): the decision
/// for the `RateLimit` fields, or the 429 (503 when the limiter cannot
/// decide and fails closed) to answer instead.
pub(crate) async fn admit(
    state: &GatewayState,
    bucket: &Bucket,
) -> Result<Option<Decision>, Response> {
    if !state.config.gateway.rate_limit.enabled {
        return Ok(None);
    }
    let (d, source) = state.limiter.check(bucket).await;
    if source == Source::Closed {
        return Err(
            Problem::service_unavailable("rate limiting is unavailable", 1).into_response(),
        );
    }
    if !d.allowed {
        metrics::counter!("gateway_rate_limited_total", "policy" => d.policy.name()).increment(1);
        return Err(rate_limited(&d));
    }
    Ok(Some(d))
}

/// A write made for `caller` goes to the audit log (through its writer),
/// whether it came through the front door or a GraphQL mutation.
pub(crate) async fn record_write(
    audit: &tokio::sync::mpsc::Sender<AuditEntry>,
    caller: &Caller,
    request_id: String,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    status: StatusCode,
) {
    let Some(tenant_id) = caller.tenant_id else {
        return;
    };
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        tenant_id,
        request_id,
        subject: caller.subject.clone(),
        client_id: caller.client_id.clone(),
        method: method.to_string(),
        path: path.to_owned(),
        resource_id: resource_id(path, headers),
        status: status.as_u16() as i16,
        created_at: chrono::Utc::now(),
    };
    if audit.send(entry).await.is_err() {
        tracing::error!("the audit writer is gone; an audit entry was not recorded");
    }
}

fn labelled(mut res: Response, prefix: &'static str) -> Response {
    res.extensions_mut().insert(RouteLabel(prefix));
    res
}

/// The resource a write touched: the created one's id from `Location`, else
/// the last id in the path.
pub fn resource_id(path: &str, headers: &HeaderMap) -> Option<String> {
    let from_location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .filter(|s| Uuid::parse_str(s).is_ok());
    from_location
        .or_else(|| path.split('/').rev().find(|s| Uuid::parse_str(s).is_ok()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

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
