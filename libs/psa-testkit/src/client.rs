//! The one HTTP client every test binary calls the platform with: a base URL
//! and a bearer token, answers read whole (status, headers, JSON body) so a
//! failing assertion can print what came back.

use std::fmt;
use std::ops::Index;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::TestApp;

pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A caller of the API: one base URL, at most one bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token stays out of test output.
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Redirects are answers to look at (OAuth), never followed.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

impl Client {
    /// An anonymous caller of `base_url` (`http://127.0.0.1:1234`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_http(http_client(), base_url)
    }

    /// Like [`Client::new`], sharing an existing connection pool.
    pub fn with_http(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into(),
            token: None,
        }
    }

    /// The same server, called with this bearer token.
    pub fn bearer(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The same server, called without a token.
    pub fn anonymous(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request to build further (forms, raw bodies, odd headers); send it
    /// with [`Client::send`]. Carries the bearer token if there is one.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_url(method, &self.url(path))
    }

    fn request_url(&self, method: Method, url: &str) -> RequestBuilder {
        let req = self.http.request(method, url);
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn send(&self, req: RequestBuilder) -> TestResponse {
        TestResponse::read(req.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: impl Serialize) -> TestResponse {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idem(&self, path: &str, key: &str, body: impl Serialize) -> TestResponse {
        self.send(
            self.request(Method::POST, path)
                .header("idempotency-key", key)
                .json(&body),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: impl Serialize) -> TestResponse {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    /// A JSON Merge Patch (RFC 7396), as every PATCH of the API takes.
    pub async fn patch(&self, path: &str, body: impl Serialize) -> TestResponse {
        self.send(merge_patch(self.request(Method::PATCH, path), &body))
            .await
    }

    pub async fn patch_if_match(
        &self,
        path: &str,
        etag: &str,
        body: impl Serialize,
    ) -> TestResponse {
        let req = self.request(Method::PATCH, path).header("if-match", etag);
        self.send(merge_patch(req, &body)).await
    }

    pub async fn put_if_match(&self, path: &str, etag: &str, body: impl Serialize) -> TestResponse {
        self.send(
            self.request(Method::PUT, path)
                .header("if-match", etag)
                .json(&body),
        )
        .await
    }

    pub async fn delete_if_match(&self, path: &str, etag: &str) -> TestResponse {
        self.send(self.request(Method::DELETE, path).header("if-match", etag))
            .await
    }

    /// POSTs `body` and returns what was created, asserting 201.
    pub async fn create(&self, path: &str, body: impl Serialize) -> Value {
        self.post(path, body)
            .await
            .assert_status(StatusCode::CREATED)
            .body
    }

    /// The pages of a list, the first from `path`, each next one from the
    /// previous page's `next_cursor`.
    pub fn pages(&self, path: &str) -> Pages<'_> {
        let url = Url::parse(&self.url(path)).expect("a valid URL");
        Pages {
            client: self,
            next: Some(url),
            seen: 0,
        }
    }

    /// Every item of a list, following cursors to the last page.
    pub async fn all(&self, path: &str) -> Vec<Value> {
        let mut pages = self.pages(path);
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            items.extend(page.items().iter().cloned());
        }
        items
    }
}

fn merge_patch(req: RequestBuilder, body: &impl Serialize) -> RequestBuilder {
    req.header(CONTENT_TYPE, MERGE_PATCH)
        .body(serde_json::to_vec(body).expect("a serializable patch"))
}

/// A list read page by page (see [`Client::pages`]).
pub struct Pages<'a> {
    client: &'a Client,
    next: Option<Url>,
    seen: usize,
}

impl Pages<'_> {
    /// Lists more than this many pages are taken for a cursor that never ends.
    const MAX: usize = 1000;

    /// The next page (asserted 200), or `None` after the last one.
    pub async fn next(&mut self) -> Option<TestResponse> {
        let url = self.next.take()?;
        self.seen += 1;
        assert!(
            self.seen <= Self::MAX,
            "more than {} pages: the cursor never ends",
            Self::MAX
        );
        let page = self
            .client
            .send(self.client.request_url(Method::GET, url.as_str()))
            .await
            .assert_status(StatusCode::OK);
        self.next = page.next_cursor().map(|cursor| {
            let mut next = url.clone();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "cursor")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("cursor", cursor);
            next
        });
        Some(page)
    }
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when it is empty or not JSON (see `text`).
    pub body: Value,
    /// The body as text (binary bodies lossily).
    pub text: String,
    /// The body's bytes.
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("the body is read").to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            text,
            bytes,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn etag(&self) -> Option<&str> {
        self.header("etag")
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    pub fn next_cursor(&self) -> Option<&str> {
        self.body["next_cursor"].as_str()
    }

    /// The `data` of a list page.
    pub fn items(&self) -> &Vec<Value> {
        self.body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("a list page: {self}"))
    }

    /// The `id` of what the body describes.
    pub fn id(&self) -> Uuid {
        id_of(&self.body)
    }

    /// Panics, showing the answer, unless the status is `status`.
    #[track_caller]
    pub fn assert_status(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "{self}");
        self
    }

    /// Asserts a problem document (RFC 9457) with this status and stable
    /// `code`, as API.md shapes it, and returns the answer.
    #[track_caller]
    pub fn assert_problem(self, status: StatusCode, code: &str) -> Self {
        assert_eq!(self.status, status, "{self}");
        let ct = self.content_type().unwrap_or("");
        assert!(
            ct.starts_with(PROBLEM_JSON),
            "content-type {ct:?} of {self}"
        );
        assert_eq!(self.body["status"], status.as_u16(), "{self}");
        assert_eq!(self.body["code"], code, "{self}");
        assert!(self.body["title"].is_string(), "a title in {self}");
        assert!(
            self.body["request_id"].is_string(),
            "a request_id in {self}"
        );
        self
    }

    /// The `field` of each entry in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("field errors in {self}"))
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default())
            .collect()
    }
}

/// The `id` of a resource as the API returns it.
#[track_caller]
pub fn id_of(resource: &Value) -> Uuid {
    resource["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("an id in {resource}"))
}

impl Index<&str> for TestResponse {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

impl fmt::Display for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}

impl TestApp {
    /// An anonymous caller of the app.
    pub fn anonymous(&self) -> Client {
        Client::with_http(self.http.clone(), self.base_url.clone())
    }

    /// A caller with this bearer token (or API key).
    pub fn client(&self, token: impl Into<String>) -> Client {
        self.anonymous().bearer(token)
    }

    /// A caller of `tenant` holding exactly `permissions`.
    pub fn client_for(&self, tenant: Uuid, permissions: &[&str]) -> Client {
        self.client(self.token(tenant, permissions))
    }

    /// A caller of a new tenant (not registered with the auth module)
    /// holding exactly `permissions`, and that tenant's id.
    pub fn new_tenant(&self, permissions: &[&str]) -> (Uuid, Client) {
        let tenant = Uuid::now_v7();
        (tenant, self.client_for(tenant, permissions))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::extract::Query;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use serde_json::json;

    use super::*;

    /// Ten items in pages of `limit`; a cursor is the index to go on from.
    async fn list(Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
        let limit: usize = q["limit"].parse().unwrap();
        let from: usize = q.get("cursor").map_or(0, |c| c.parse().unwrap());
        let to = (from + limit).min(10);
        let next = (to < 10).then(|| to.to_string());
        axum::Json(json!({"data": (from..to).collect::<Vec<_>>(), "next_cursor": next}))
    }

    /// Echoes what the request carried, as a problem when asked to.
    async fn echo(headers: HeaderMap, body: String) -> axum::response::Response {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seen = json!({"content_type": h("content-type"), "authorization": h("authorization"),
            "idempotency_key": h("idempotency-key"), "if_match": h("if-match"), "body": body,
            "status": 409, "code": "customer_number_taken", "title": "Conflict", "request_id": "r1"});
        if body.contains("problem") {
            (
                StatusCode::CONFLICT,
                [("content-type", PROBLEM_JSON)],
                seen.to_string(),
            )
                .into_response()
        } else {
            axum::Json(seen).into_response()
        }
    }

    async fn serve() -> Client {
        let app = axum::Router::new()
            .route("/items", axum::routing::get(list))
            .fallback(echo);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Client::new(url)
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_to_the_end_keeping_the_query() {
        let c = serve().await;
        let items = c.all("/items?limit=3").await;
        assert_eq!(items, (0..10).map(|i| json!(i)).collect::<Vec<_>>());
        let mut pages = c.pages("/items?limit=4");
        let mut sizes = Vec::new();
        while let Some(page) = pages.next().await {
            sizes.push(page.items().len());
        }
        assert_eq!(sizes, [4, 4, 2]);
    }

    #[tokio::test]
    async fn requests_carry_token_merge_patch_key_and_precondition() {
        let c = serve().await.bearer("t0k");
        let patch = c.patch_if_match("/x", "\"3\"", json!({"a": null})).await;
        assert_eq!(patch["content_type"], MERGE_PATCH);
        assert_eq!(patch["if_match"], "\"3\"");
        assert_eq!(patch["authorization"], "Bearer t0k");
        assert_eq!(patch["body"], r#"{"a":null}"#);
        let post = c.post_idem("/x", "k-1", json!({})).await;
        assert_eq!(post["idempotency_key"], "k-1");
        assert_eq!(post["content_type"], "application/json");
        let anonymous = c.anonymous().delete("/x").await;
        assert_eq!(anonymous["authorization"], Value::Null);
    }

    #[tokio::test]
    async fn assert_problem_checks_status_type_and_code() {
        let c = serve().await;
        let problem = c
            .post("/x", json!("problem"))
            .await
            .assert_problem(StatusCode::CONFLICT, "customer_number_taken");
        assert_eq!(problem["request_id"], "r1");
        let wrong_code = std::panic::catch_unwind(|| {
            problem
                .clone()
                .assert_problem(StatusCode::CONFLICT, "conflict")
        });
        assert!(wrong_code.is_err(), "another code is refused");
        let not_a_problem = c.post("/x", json!("fine")).await;
        let plain_json = std::panic::catch_unwind(|| {
            not_a_problem.assert_problem(StatusCode::OK, "customer_number_taken")
        });
        assert!(
            plain_json.is_err(),
            "application/json is no problem document"
        );
    }
}
