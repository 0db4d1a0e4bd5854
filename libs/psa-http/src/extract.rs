//! Extractors whose every rejection is a problem+json: 400 for malformed
//! syntax, 415 for a wrong content type, 413 for an oversized body, 422 with
//! the offending field for well-formed input that does not fit.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::id_list;
use crate::problem::{FieldError, Problem};

/// A JSON request body, parsed strictly.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .with_detail("expected a body of type application/json"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        let value = parse_json_value(&bytes)?;
        from_value(value).map(Json)
    }
}

/// The body as a JSON value (for merge patches), with the same rejections.
#[derive(Debug, Clone)]
pub struct JsonValue(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !(essence.eq_ignore_ascii_case("application/merge-patch+json") || is_json(req.headers()))
        {
            return Err(
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE).with_detail(
                    "expected a body of type application/merge-patch+json or application/json",
                ),
            );
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        parse_json_value(&bytes).map(JsonValue)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// 413 `body_too_large`.
pub(crate) fn too_large() -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE).with_detail("the request body is too large")
}

fn bytes_rejection(rej: BytesRejection) -> Problem {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        Problem::bad_request("the request body could not be read")
    }
}

fn parse_json_value(bytes: &[u8]) -> Result<serde_json::Value, Problem> {
    serde_json::from_slice(bytes).map_err(|e| Problem::bad_request(format!("malformed JSON: {e}")))
}

/// Deserializes a JSON value into `T`, turning a mismatch into a 422 that
/// names the field by its path (`address.country`, `sla.high.response_minutes`).
///
/// A number is read by its value, as JSON (and JSON Schema) have it: `3.0`
/// fills an integer field like `3` does.
pub fn from_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, Problem> {
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // The path already ends with an unknown field's name.
        let field = if path == "." { "body".to_owned() } else { path };
        let message = if unknown_field(&inner).is_some() {
            "unknown field".to_owned()
        } else {
            inner
        };
        Problem::validation(vec![FieldError::new(field, message)])
    })
}

/// Turns every number without a fraction (`3.0`) into an integer, where
/// one holds it.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && (i64::MIN as f64..=i64::MAX as f64).contains(&f)
            {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Query parameters; anything that does not parse is a 400.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                let problem = if path == "." {
                    Problem::bad_request(format!("invalid query: {inner}"))
                } else {
                    Problem::bad_request(format!("invalid query parameter `{path}`: {inner}"))
                };
                // A `*_id` filter that is no list of ids, coded as `ids=` is.
                if inner.ends_with(id_list::MUST_BE) {
                    problem.with_code(id_list::INVALID_IDS)
                } else {
                    problem
                }
            })
    }
}

/// A resource id from the path. An id that is not a UUID names no resource,
/// so it is a 404 like any other unknown id.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| Problem::not_found())?;
        Uuid::parse_str(&raw)
            .map(PathId)
            .map_err(|_| Problem::not_found())
    }
}

/// Two resource ids from the path (a parent's and its child's, as in
/// `/v1/invoices/{id}/lines/{line_id}`); either not a UUID is a 404.
#[derive(Debug, Clone, Copy)]
pub struct PathIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((a, b)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| Problem::not_found())?;
        match (Uuid::parse_str(&a), Uuid::parse_str(&b)) {
            (Ok(a), Ok(b)) => Ok(PathIds(a, b)),
            _ => Err(Problem::not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        city: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        address: Option<Inner>,
    }

    #[test]
    fn unknown_top_level_field_is_named() {
        let err = from_value::<Outer>(serde_json::json!({"name": "a", "nmae": "b"})).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.errors[0].field, "nmae");
    }

    #[test]
    fn nested_type_error_names_its_path() {
        let err = from_value::<Outer>(serde_json::json!({"name": "a", "address": {"city": 5}}))
            .unwrap_err();
        assert_eq!(err.errors[0].field, "address.city");
    }

    #[test]
    fn numbers_are_read_by_value() {
        #[derive(Debug, Deserialize)]
        struct Minutes {
            minutes: u32,
        }
        let m: Minutes = from_value(serde_json::json!({"minutes": 30.0})).unwrap();
        assert_eq!(m.minutes, 30);
        assert!(from_value::<Minutes>(serde_json::json!({"minutes": 30.5})).is_err());
    }

    #[test]
    fn missing_field_is_reported() {
        let err = from_value::<Outer>(serde_json::json!({})).unwrap_err();
        assert!(err.errors[0].message.contains("name"), "{:?}", err.errors);
    }
}
