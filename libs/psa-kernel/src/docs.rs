//! The problems an operation may answer, for OpenAPI: a handler's
//! `#[utoipa::path]` lists its success response and the ones that apply,
//! e.g. `responses((status = 201, body = Customer), docs::BadRequest,
//! docs::Denied, docs::Conflict, docs::Invalid)`. Every problem is
//! problem+json with a stable `code`.

use psa_http::problem::ProblemBody;
use utoipa::openapi::OpenApi;
use utoipa::{IntoResponses, OpenApi as _};

/// What a module's router starts from
/// (`OpenApiRouter::with_openapi(psa_kernel::docs::openapi())`): the schema
/// the responses below refer to, which utoipa registers for `body = …`
/// responses but not for `IntoResponses` types.
pub fn openapi() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(components(schemas(ProblemBody)))]
    struct Components;
    Components::openapi()
}

/// The header every POST takes (`params(IdempotencyKey)`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Retry-safe POST: the same key and body within 24 h return the first
    /// response; the same key with another body is 422.
    #[param(rename = "Idempotency-Key", max_length = 255)]
    pub key: Option<String>,
}

/// The precondition PATCH and DELETE take (`params(IfMatch)`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// `"<version>"` as the `ETag` gave it; 412 `stale_version` when the
    /// resource has changed since.
    #[param(rename = "If-Match")]
    pub version: Option<String>,
}

/// A body or query that does not parse: malformed JSON, a bad filter,
/// `invalid_limit`, `invalid_sort`, `invalid_cursor`, `invalid_query`.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct BadRequest(pub ProblemBody);

/// What every authenticated operation may answer.
#[derive(IntoResponses)]
pub enum Denied {
    /// No or an invalid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemBody),
    /// The token lacks the operation's permission.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemBody),
}

/// The tenant has no such resource (or no such parent of a sub-list).
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NotFound(pub ProblemBody);

/// The write conflicts with other data; `code` says how.
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct Conflict(pub ProblemBody);

/// `stale_version`: `If-Match` names an older version.
#[derive(IntoResponses)]
#[response(status = 412, content_type = "application/problem+json")]
pub struct Stale(pub ProblemBody);

/// `validation_failed` with every bad field in `errors`, or an
/// `Idempotency-Key` reused with another body.
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
pub struct Invalid(pub ProblemBody);
