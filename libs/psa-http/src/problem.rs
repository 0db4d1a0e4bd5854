//! RFC 9457 problem details: the one error shape every endpoint answers with.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::context;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field, as `errors[]` of a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    /// A stable snake_case reason a client can branch on (`invalid`, `required`, `too_long`, ...).
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_code(field, "invalid", message)
    }

    pub fn with_code(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// A stable snake_case identifier a client can branch on (API.md).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members (e.g. OAuth's `error` on the token endpoint).
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// An error on its way to the client. Build it with the constructors; it
/// renders itself as problem+json with the request's id and path.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable snake_case identifier; defaults to one per status.
    pub code: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    extensions: serde_json::Map<String, serde_json::Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            code: default_code(status),
            detail: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_extension(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the stable `code` (and with it the `type` URI).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST).with_detail(detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND).with_detail("no such resource")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT).with_detail(detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN).with_detail(detail)
    }

    pub fn precondition_failed(current_version: i64) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED)
            .with_code("stale_version")
            .with_detail(format!(
                "If-Match does not match the current version {current_version}"
            ))
    }

    /// 422 with one entry per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY)
            .with_detail("the request body has invalid fields");
        p.errors = errors;
        p
    }

    /// 422 `unknown_customer`: the body names a customer the module does
    /// not know (in the caller's tenant; modules that keep a projection of
    /// CRM's customers check against it).
    pub fn unknown_customer(field: &str) -> Self {
        Self::validation(vec![FieldError::with_code(
            field,
            "unknown_customer",
            "no such customer",
        )])
        .with_code("unknown_customer")
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 401 with the `WWW-Authenticate` challenge RFC 6750 asks for.
    pub fn unauthorized(error: Option<&str>, detail: impl Into<String>) -> Self {
        let challenge = match error {
            Some(code) => format!("Bearer realm=\"psa\", error=\"{code}\""),
            None => "Bearer realm=\"psa\"".to_owned(),
        };
        Self::new(StatusCode::UNAUTHORIZED)
            .with_detail(detail)
            .with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_str(&challenge)
                    .unwrap_or(HeaderValue::from_static("Bearer realm=\"psa\"")),
            )
    }

    pub fn service_unavailable(detail: impl Into<String>, retry_after_secs: u32) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE)
            .with_detail(detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    }

    /// A server-side failure: logged once here with its chain, shown to the
    /// client without internals.
    pub fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
            .with_detail("an internal error occurred; quote the request_id when reporting it")
    }

    pub fn body(&self) -> ProblemBody {
        let ctx = context::current();
        ProblemBody {
            type_: type_uri(self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: self.detail.clone(),
            instance: ctx.as_ref().map(|c| c.path.clone()),
            request_id: ctx.map(|c| c.request_id),
            errors: self.errors.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

/// The `type` URI of a code: one per code, as API.md asks.
fn type_uri(code: &str) -> String {
    format!("https://psa.dev/problems/{}", code.replace('_', "-"))
}

/// The code a problem has unless a more specific one is set.
pub fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        409 => "conflict",
        412 => "stale_version",
        413 => "body_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        428 => "precondition_required",
        429 => "rate_limited",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        500..=599 => "internal_error",
        _ => "error",
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (k, v) in self.headers {
            res.headers_mut().insert(k, v);
        }
        res
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// Database errors that reach a handler unmapped are server errors; the few
/// that are the client's fault are mapped where the constraint is known.
impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Problem::service_unavailable("the database is unavailable", 5);
        }
        // Constraint violations that a handler did not foresee (mostly races
        // between concurrent requests) are the request's conflict, not a crash.
        if let Some(code) = err.as_database_error().and_then(|d| d.code()) {
            match code.as_ref() {
                "23505" => return Problem::conflict("this conflicts with an existing resource"),
                "23503" => {
                    return Problem::conflict("a referenced resource does not exist (any more)");
                }
                "23514" => {
                    return Problem::new(StatusCode::UNPROCESSABLE_ENTITY)
                        .with_detail("a value is out of range");
                }
                // A number or date beyond what the column keeps, where no
                // validation foresaw it: the request's values, not a crash.
                "22003" | "22008" => {
                    return Problem::bad_request("a number or date is beyond the range kept")
                        .with_code("out_of_range");
                }
                "40001" | "40P01" => {
                    return Problem::service_unavailable(
                        "the request collided with another; retry it",
                        1,
                    );
                }
                _ => {}
            }
        }
        Problem::internal(&err)
    }
}

/// Whether the database could not be reached (as opposed to a query that is wrong).
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; 57P01-03: shutdown, crash, starting up.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_uri_is_a_slug_of_the_code() {
        assert_eq!(
            type_uri("validation_failed"),
            "https://psa.dev/problems/validation-failed"
        );
        let body = Problem::bad_request("x").with_code("invalid_cursor").body();
        assert_eq!(body.code, "invalid_cursor");
        assert_eq!(body.type_, "https://psa.dev/problems/invalid-cursor");
    }

    #[test]
    fn validation_problem_lists_fields() {
        let body = Problem::invalid_field("name", "must not be empty").body();
        assert_eq!(body.status, 422);
        assert_eq!(
            body.errors,
            vec![FieldError::new("name", "must not be empty")]
        );
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["type"], "https://psa.dev/problems/validation-failed");
        assert_eq!(json["code"], "validation_failed");
        assert_eq!(json["errors"][0]["code"], "invalid");
    }
}
