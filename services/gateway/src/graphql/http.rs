//! `/graphql`: `POST` a query (JSON: `query`, `operationName`, `variables`,
//! `extensions`), `GET` one as query parameters (queries only: a mutation
//! over GET is 405), Apollo's automatic persisted queries on both, and
//! GraphiQL for a browser's `GET /graphql` — its scripts and styles served
//! from the binary under `/graphql/assets/`, nothing from elsewhere.
//!
//! Each request gets its own downstream client, data loader and cost gate
//! (never shared: a loader's cache holds what one caller may see). The
//! query's cost is drawn from the caller's rate-limit bucket; a caller out
//! of quota gets `RATE_LIMITED` with HTTP 429 and `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{ServerError, Variables};
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_http::Problem;
use psa_http::layers::RouteLabel;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cost::{Gate, coded};
use super::downstream::Downstream;
use super::schema::{PsaSchema, schema};
use crate::edge::forward::{identify, rate_headers};
use crate::ratelimit::Source;
use crate::state::GatewayState;

/// The schema, built once, and the persisted queries this gateway knows.
pub struct Graphql {
    schema: PsaSchema,
    persisted: Persisted,
}

impl Default for Graphql {
    fn default() -> Self {
        Self {
            schema: schema(),
            persisted: Persisted::default(),
        }
    }
}

/// The page's policy: its own scripts only; GraphiQL's stylesheet embeds
/// its fonts as `data:` URLs and a dialog inserts one `<style>` element
/// (static/graphiql/README.md says why each source is needed).
const PAGE_CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
                        font-src 'self' data:; img-src 'self' data:; frame-ancestors 'none'";

/// The files of `static/graphiql` the page loads, with their types.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/react-dom.production.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql/init.js"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/graphiql/page.css"),
    ),
];

const PAGE: &str = include_str!("../../static/graphiql/index.html");

/// `GET /graphql/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(name, ..)| *name == file) else {
        return Problem::not_found().into_response();
    };
    (
        [
            (header::CONTENT_TYPE, *content_type),
            // The files change only with the binary; a day is short enough.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *bytes,
    )
        .into_response()
}

fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// A request as the GraphQL-over-HTTP convention carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Body {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

/// The same in a `GET`'s query string (`variables` and `extensions` as JSON).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl Params {
    fn into_body(self) -> Result<Body, Problem> {
        let json = |name: &str, raw: Option<String>| {
            raw.map(|r| {
                serde_json::from_str(&r).map_err(|_| {
                    Problem::bad_request(format!("{name} must be a JSON object"))
                        .with_code("invalid_query")
                })
            })
            .transpose()
        };
        Ok(Body {
            query: self.query,
            operation_name: self.operation_name,
            variables: json("variables", self.variables)?,
            extensions: json("extensions", self.extensions)?,
        })
    }
}

/// `GET /graphql`: GraphiQL for a browser (no query, HTML accepted), else
/// a query (or a persisted one) in the query string.
pub async fn get(State(state): State<GatewayState>, req: Request) -> Response {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let raw = req.uri().query().unwrap_or("").to_owned();
    if raw.is_empty() && wants_html {
        return labelled(page());
    }
    let body = match serde_urlencoded::from_str::<Params>(&raw)
        .map_err(|e| Problem::bad_request(format!("invalid query: {e}")).with_code("invalid_query"))
        .and_then(Params::into_body)
    {
        Ok(b) => b,
        Err(p) => return labelled(p.into_response()),
    };
    labelled(serve(state, req, body, Method::GET).await)
}

/// `POST /graphql`.
pub async fn post(State(state): State<GatewayState>, req: Request) -> Response {
    labelled(serve_post(state, req).await)
}

async fn serve_post(state: GatewayState, mut req: Request) -> Response {
    // Credentials first: nobody's body is read before they are known.
    let peer = peer(&req);
    let identity = match identify(&state, &mut req, peer).await {
        Ok(i) => i,
        Err(res) => return res,
    };
    let headers = req.headers().clone();
    let body = match psa_http::extract::Json::<Body>::from_request(req, &()).await {
        Ok(psa_http::extract::Json(b)) => b,
        Err(p) => return p.into_response(),
    };
    execute(state, identity, headers, body, Method::POST).await
}

async fn serve(state: GatewayState, mut req: Request, body: Body, method: Method) -> Response {
    let peer = peer(&req);
    let identity = match identify(&state, &mut req, peer).await {
        Ok(i) => i,
        Err(res) => return res,
    };
    execute(state, identity, req.headers().clone(), body, method).await
}

fn peer(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

fn labelled(mut res: Response) -> Response {
    res.extensions_mut().insert(RouteLabel("/graphql"));
    res
}

/// A GraphQL answer made of errors alone (HTTP 200, as for any GraphQL
/// error that is not the transport's).
fn errors_only(errors: Vec<ServerError>) -> Response {
    axum::Json(async_graphql::Response::from_errors(errors)).into_response()
}

async fn execute(
    state: GatewayState,
    identity: crate::edge::authn::Identity,
    headers: HeaderMap,
    body: Body,
    method: Method,
) -> Response {
    let Some(caller) = identity.caller.map(Arc::new) else {
        return Problem::unauthorized(None, "a bearer token is required").into_response();
    };
    let graphql = state.graphql.clone();
    let query = match graphql.persisted.resolve(caller.tenant_id, &body) {
        Ok(q) => q,
        Err(e) => return errors_only(vec![e]),
    };
    let variables = match body.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_json(v),
        Some(_) => {
            return Problem::bad_request("variables must be a JSON object")
                .with_code("invalid_query")
                .into_response();
        }
    };
    if method == Method::GET && is_mutation(&query, body.operation_name.as_deref()) {
        return Problem::new(StatusCode::METHOD_NOT_ALLOWED)
            .with_detail("a mutation must be sent with POST")
            .with_code("method_not_allowed")
            .with_header(header::ALLOW, HeaderValue::from_static("POST"))
            .into_response();
    }

    let timeout = Duration::from_secs(state.config.gateway.upstream_timeout_secs);
    let downstream = Arc::new(Downstream::new(
        state.registry.clone(),
        state.upstreams.clone(),
        caller.clone(),
        headers.get(header::AUTHORIZATION).cloned(),
        headers.get(&psa_http::layers::REQUEST_ID).cloned(),
        timeout,
        state.audit.clone(),
    ));
    let limiter = state
        .config
        .gateway
        .rate_limit
        .enabled
        .then(|| (state.limiter.clone(), identity.bucket.clone()));
    let gate = Arc::new(Gate::new(
        body.operation_name.clone(),
        limiter,
        downstream.clone(),
    ));
    let (loaders, fetches) = super::loaders::per_request(downstream.clone());
    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = body.operation_name {
        request = request.operation_name(name);
    }
    let request = request.data(gate.clone()).data(downstream).data(loaders);
    let response = fetches.alongside(graphql.schema.execute(request)).await;

    // A request the limits never saw (it failed before parsing) still
    // draws one request, so malformed queries are not free.
    if gate.snapshot().requested.is_none() {
        gate.charge_unit().await;
    }
    let state_now = gate.snapshot();
    let status = match state_now.refused {
        Some((_, Source::Closed)) => {
            let mut res = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(response)).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
            return res;
        }
        Some((d, _)) => {
            let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(response)).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(d.retry_after_secs));
            rate_headers(res.headers_mut(), &d);
            return res;
        }
        None => StatusCode::OK,
    };
    let mut res = (status, axum::Json(response)).into_response();
    if let Some(d) = state_now.decision {
        rate_headers(res.headers_mut(), &d);
    }
    res
}

/// Whether the operation the request runs is a mutation (a query that
/// does not parse is not; execution reports it).
fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let ty = match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) => ops
            .values()
            .next()
            .filter(|_| ops.len() == 1)
            .map(|op| op.node.ty),
    };
    ty == Some(OperationType::Mutation)
}

/// A persisted query's key: the tenant and the query's SHA-256.
type PersistedKey = (Option<Uuid>, [u8; 32]);

/// Apollo's automatic persisted queries: a client sends the SHA-256 of its
/// query (`extensions.persistedQuery.sha256Hash`); a hash the gateway does
/// not know is answered `PERSISTED_QUERY_NOT_FOUND`, and the client sends
/// it again with the query, which is then kept. Kept per tenant (one
/// tenant cannot learn what another runs), queries of at most
/// [`Self::MAX_QUERY_BYTES`], at most [`Self::MAX_ENTRIES`] of them and
/// [`Self::MAX_BYTES`] in all, the oldest leaving first; in this process
/// only (a second gateway asks for the query once more).
#[derive(Default)]
struct Persisted {
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    queries: HashMap<PersistedKey, Arc<str>>,
    /// Keys in the order they were kept.
    order: VecDeque<PersistedKey>,
    bytes: usize,
}

impl Store {
    fn keep(&mut self, key: PersistedKey, query: &str) {
        if self.queries.contains_key(&key) {
            return;
        }
        while self.queries.len() >= Persisted::MAX_ENTRIES
            || self.bytes + query.len() > Persisted::MAX_BYTES
        {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(q) = self.queries.remove(&oldest) {
                self.bytes -= q.len();
            }
        }
        self.bytes += query.len();
        self.order.push_back(key);
        self.queries.insert(key, Arc::from(query));
    }
}

impl Persisted {
    const MAX_ENTRIES: usize = 10_000;
    const MAX_QUERY_BYTES: usize = 64 * 1024;
    const MAX_BYTES: usize = 16 * 1024 * 1024;

    /// The query the request runs.
    fn resolve(&self, tenant: Option<Uuid>, body: &Body) -> Result<String, ServerError> {
        let hash = match persisted_hash(body.extensions.as_ref())? {
            None => {
                return body.query.clone().ok_or_else(|| {
                    coded(
                        ServerError::new("a query is required", None),
                        "GRAPHQL_PARSE_FAILED",
                    )
                });
            }
            Some(h) => h,
        };
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        match &body.query {
            Some(q) => {
                let digest: [u8; 32] = Sha256::digest(q.as_bytes()).into();
                if digest != hash {
                    return Err(coded(
                        ServerError::new("provided sha does not match query", None),
                        "PERSISTED_QUERY_HASH_MISMATCH",
                    ));
                }
                if q.len() <= Self::MAX_QUERY_BYTES {
                    store.keep((tenant, hash), q);
                }
                Ok(q.clone())
            }
            None => store
                .queries
                .get(&(tenant, hash))
                .map(|q| q.to_string())
                .ok_or_else(|| {
                    coded(
                        ServerError::new("PersistedQueryNotFound", None),
                        "PERSISTED_QUERY_NOT_FOUND",
                    )
                }),
        }
    }
}

/// `extensions.persistedQuery` (version 1, a hex SHA-256), if given.
fn persisted_hash(extensions: Option<&serde_json::Value>) -> Result<Option<[u8; 32]>, ServerError> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    let bad = |m: &str| coded(ServerError::new(m, None), "PERSISTED_QUERY_INVALID");
    if pq.get("version").and_then(|v| v.as_i64()) != Some(1) {
        return Err(bad("persistedQuery.version must be 1"));
    }
    let hex = pq
        .get("sha256Hash")
        .and_then(|h| h.as_str())
        .ok_or_else(|| bad("persistedQuery.sha256Hash is required"))?;
    let mut hash = [0u8; 32];
    let digits = hex.as_bytes();
    let ok = digits.len() == 64
        && digits.iter().all(u8::is_ascii_hexdigit)
        && hash.iter_mut().zip(digits.chunks(2)).all(|(b, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .map(|v| *b = v)
                .is_some()
        });
    if !ok {
        return Err(bad("persistedQuery.sha256Hash must be 64 hex digits"));
    }
    Ok(Some(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(query: Option<&str>, hash: &str) -> Body {
        Body {
            query: query.map(str::to_owned),
            extensions: Some(serde_json::json!({
                "persistedQuery": {"version": 1, "sha256Hash": hash}
            })),
            ..Body::default()
        }
    }

    #[test]
    fn persisted_queries_round_trip_per_tenant() {
        let p = Persisted::default();
        let q = "{ customers(first: 1) { edges { cursor } } }";
        let hash: String = Sha256::digest(q.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let tenant = Some(Uuid::now_v7());
        let missing = p.resolve(tenant, &body(None, &hash)).unwrap_err();
        assert_eq!(
            missing.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from("PERSISTED_QUERY_NOT_FOUND"))
        );
        assert_eq!(p.resolve(tenant, &body(Some(q), &hash)).unwrap(), q);
        assert_eq!(p.resolve(tenant, &body(None, &hash)).unwrap(), q);
        // Another tenant has not registered it.
        assert!(p.resolve(Some(Uuid::now_v7()), &body(None, &hash)).is_err());
        // A query that is not the hash's is refused and not kept.
        let other = "{ customers(first: 2) { edges { cursor } } }";
        assert!(p.resolve(tenant, &body(Some(other), &hash)).is_err());
        assert!(p.resolve(tenant, &body(None, "00")).is_err());
    }

    #[test]
    fn the_oldest_persisted_queries_leave_first() {
        let mut store = Store::default();
        let key = |i: u32| (None, Sha256::digest(i.to_be_bytes()).into());
        let big = "x".repeat(Persisted::MAX_QUERY_BYTES);
        let fit = Persisted::MAX_BYTES / big.len();
        for i in 0..=fit as u32 {
            store.keep(key(i), &big);
        }
        assert_eq!(store.queries.len(), fit);
        assert!(store.bytes <= Persisted::MAX_BYTES);
        assert!(!store.queries.contains_key(&key(0)), "the first left");
        assert!(store.queries.contains_key(&key(fit as u32)));
        for i in 0..Persisted::MAX_ENTRIES as u32 + 5 {
            store.keep(key(1_000_000 + i), "{ a }");
        }
        assert_eq!(store.queries.len(), Persisted::MAX_ENTRIES);
        assert_eq!(store.order.len(), Persisted::MAX_ENTRIES);
    }

    #[test]
    fn mutations_are_told_apart() {
        assert!(is_mutation("mutation { a }", None));
        assert!(!is_mutation("{ a }", None));
        assert!(is_mutation("query A { a } mutation B { b }", Some("B")));
        assert!(!is_mutation("query A { a } mutation B { b }", Some("A")));
        assert!(!is_mutation("not graphql", None));
    }

    #[test]
    fn every_asset_the_page_loads_is_served() {
        for src in PAGE
            .split('"')
            .filter_map(|s| s.strip_prefix("/graphql/assets/"))
        {
            assert!(ASSETS.iter().any(|(name, ..)| *name == src), "{src}");
        }
        assert!(PAGE.contains("/graphql/assets/init.js"));
    }
}
