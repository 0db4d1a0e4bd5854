//! How GraphQL reads and writes: through the owning module's `/v1` API,
//! with the caller's own credentials, in-process or over HTTP exactly as
//! the front door forwards — so a module's permission checks and its
//! tenant's row-level security decide, never the gateway.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use psa_authn::{Caller, Verified};
use psa_runtime::Registry;
use tokio::sync::mpsc;

use crate::domain::audit::AuditEntry;
use crate::proxy::Upstream;

/// A downstream answer that is not data: what the GraphQL error says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `extensions.code`: NOT_FOUND, FORBIDDEN, VALIDATION_FAILED, …
    pub code: &'static str,
    pub message: String,
    /// The module's own problem `code`, where it gave one.
    pub problem: Option<String>,
}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            problem: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new("NOT_FOUND", format!("no such {what}"))
    }

    fn unavailable(module: &str) -> Self {
        Self::new(
            "UNAVAILABLE",
            format!("the {module} service is unavailable"),
        )
    }

    /// From a module's problem+json answer.
    fn from_problem(module: &str, status: StatusCode, body: &[u8]) -> Self {
        let problem: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let code = match status.as_u16() {
            400 | 422 => "VALIDATION_FAILED",
            401 => "UNAUTHENTICATED",
            403 => "FORBIDDEN",
            404 | 410 => "NOT_FOUND",
            409 | 412 => "CONFLICT",
            429 => "RATE_LIMITED",
            502..=504 => return Self::unavailable(module),
            _ => "INTERNAL",
        };
        let message = problem["detail"]
            .as_str()
            .or_else(|| problem["title"].as_str())
            .unwrap_or("the request failed")
            .to_owned();
        Self {
            code,
            message,
            problem: problem["code"].as_str().map(str::to_owned),
        }
    }
}

impl From<Failure> for async_graphql::Error {
    fn from(f: Failure) -> Self {
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(f.message).extend_with(|_, e| {
            e.set("code", f.code);
            if let Some(p) = &f.problem {
                e.set("problem", p.as_str());
            }
        })
    }
}

/// One GraphQL request's way to the modules: the caller, its credentials
/// and the calls made (per module, for the metric and the response).
pub struct Downstream {
    registry: Arc<Registry>,
    upstreams: Arc<std::collections::HashMap<&'static str, Upstream>>,
    caller: Arc<Caller>,
    authorization: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
    timeout: Duration,
    audit: mpsc::Sender<AuditEntry>,
    calls: Mutex<BTreeMap<&'static str, u32>>,
}

impl Downstream {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        registry: Arc<Registry>,
        upstreams: Arc<std::collections::HashMap<&'static str, Upstream>>,
        caller: Arc<Caller>,
        authorization: Option<HeaderValue>,
        request_id: Option<HeaderValue>,
        timeout: Duration,
        audit: mpsc::Sender<AuditEntry>,
    ) -> Self {
        Self {
            registry,
            upstreams,
            caller,
            authorization,
            request_id,
            timeout,
            audit,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    /// Calls made so far, per module.
    pub fn calls(&self) -> BTreeMap<&'static str, u32> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `GET path` (with its query): the JSON body of a 2xx answer.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, Failure> {
        self.call(Method::GET, path, None, None).await
    }

    /// `POST path` with a JSON body and an `Idempotency-Key`.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<serde_json::Value, Failure> {
        self.call(Method::POST, path, Some(body), Some(idempotency_key))
            .await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, Failure> {
        let bare = path.split('?').next().unwrap_or(path);
        let route = self
            .registry
            .route(bare)
            .ok_or_else(|| Failure::new("INTERNAL", "no module serves this resource"))?;
        let module = route.module;
        let upstream = self
            .upstreams
            .get(module)
            .ok_or_else(|| Failure::unavailable(module))?;
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(module)
            .or_default() += 1;
        metrics::counter!("gateway_graphql_downstream_requests_total", "module" => module)
            .increment(1);

        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::ACCEPT, "application/json");
        if let Some(a) = &self.authorization {
            req = req.header(header::AUTHORIZATION, a.clone());
        }
        if let Some(r) = &self.request_id {
            req = req.header(&psa_http::layers::REQUEST_ID, r.clone());
        }
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(b).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let mut req = req
            .body(body)
            .map_err(|_| Failure::new("VALIDATION_FAILED", "the request cannot be made"))?;
        if let Upstream::InProcess(_) = upstream {
            req.extensions_mut().insert(Verified(self.caller.clone()));
        }
        let res = upstream.forward(module, req, self.timeout).await;
        let status = res.status();
        let location = res.headers().get(header::LOCATION).cloned();
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .map(|b| b.to_bytes())
            .map_err(|_| Failure::unavailable(module))?;
        if method != Method::GET {
            let mut headers = axum::http::HeaderMap::new();
            if let Some(l) = location {
                headers.insert(header::LOCATION, l);
            }
            let request_id = self
                .request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            crate::edge::forward::record_write(
                &self.audit,
                &self.caller,
                request_id,
                &method,
                bare,
                &headers,
                status,
            )
            .await;
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return Err(Failure::unavailable(module));
        }
        if !status.is_success() {
            return Err(Failure::from_problem(module, status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| Failure::new("INTERNAL", format!("the {module} service answered no JSON")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_map_to_stable_codes() {
        let body = br#"{"title":"Not Found","detail":"no such customer","code":"not_found"}"#;
        let f = Failure::from_problem("crm", StatusCode::NOT_FOUND, body);
        assert_eq!(f.code, "NOT_FOUND");
        assert_eq!(f.message, "no such customer");
        assert_eq!(f.problem.as_deref(), Some("not_found"));
        let f = Failure::from_problem("crm", StatusCode::UNPROCESSABLE_ENTITY, b"{}");
        assert_eq!(f.code, "VALIDATION_FAILED");
        let f = Failure::from_problem("tickets", StatusCode::GATEWAY_TIMEOUT, b"");
        assert_eq!(f.code, "UNAVAILABLE");
        let f = Failure::from_problem("crm", StatusCode::FORBIDDEN, b"not json");
        assert_eq!(
            (f.code, f.message.as_str()),
            ("FORBIDDEN", "the request failed")
        );
    }
}
