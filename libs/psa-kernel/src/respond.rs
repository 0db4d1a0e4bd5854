//! Responses that carry a resource's version as its `ETag`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_http::conditional::etag;
use serde::Serialize;

/// `status` with the resource as JSON and `ETag: "<version>"`.
pub fn with_etag<T: Serialize>(status: StatusCode, body: &T, version: i64) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(version));
    res
}
