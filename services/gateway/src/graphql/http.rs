//! `/graphql`: `POST` a query (JSON: `query`, `operationName`, `variables`,
//! `extensions`), `GET` one as query parameters (queries only: a mutation
//! over GET is 405), Apollo's automatic persisted queries on both
//! ([`super::persisted`]), and GraphiQL for a browser's `GET /graphql`
//! ([`super::graphiql`]).
//!
//! Each request gets its own downstream client, data loader and cost gate
//! (never shared: a loader's cache holds what one caller may see). The
//! query's cost is drawn from the caller's rate-limit bucket; a caller out
//! of quota gets `RATE_LIMITED` with HTTP 429 and `Retry-After`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{ServerError, Variables};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_http::Problem;
use psa_http::layers::RouteLabel;
use serde::Deserialize;

use super::cost::Gate;
use super::downstream::Downstream;
use super::graphiql::page;
use super::persisted::Persisted;
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

/// A request as the GraphQL-over-HTTP convention carries it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Body {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<serde_json::Value>,
    pub extensions: Option<serde_json::Value>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_told_apart() {
        assert!(is_mutation("mutation { a }", None));
        assert!(!is_mutation("{ a }", None));
        assert!(is_mutation("query A { a } mutation B { b }", Some("B")));
        assert!(!is_mutation("query A { a } mutation B { b }", Some("A")));
        assert!(!is_mutation("not graphql", None));
    }
}
