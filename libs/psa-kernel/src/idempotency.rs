//! The `Idempotency-Key` guard every POST uses: lookup (replay or proceed)
//! inside the write's transaction, then store the response in the same
//! transaction, so a retry either replays the committed answer or finds
//! nothing and runs again.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use psa_http::Problem;
use psa_http::idempotency::{self, IdempotencyKey, Lookup, StoredResponse};
use serde::Serialize;

use crate::tx::Tx;

/// The request's `Idempotency-Key` (if any) with its method and path; an
/// extractor, so every POST handler takes it the same way.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: Option<axum::http::HeaderValue>,
    method: String,
    path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        Ok(Idempotency {
            key: parts.headers.get(idempotency::HEADER).cloned(),
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
        })
    }
}

/// What the lookup found.
pub enum Guarded {
    /// This key was used with this request before: answer this, change nothing.
    Replay(Response),
    /// First use (or no key): do the work, then [`Guard::finish`].
    New(Guard),
}

/// Holds the key until the response is known.
pub struct Guard {
    key: Option<IdempotencyKey>,
}

impl Idempotency {
    /// Looks the key up for this request body (a key reused with another
    /// body is 422). Concurrent requests with one key are serialized.
    pub async fn guard<B: Serialize>(&self, tx: &mut Tx, body: &B) -> Result<Guarded, Problem> {
        let Some(raw) = &self.key else {
            return Ok(Guarded::New(Guard { key: None }));
        };
        let body = serde_json::to_value(body).map_err(|e| Problem::internal(&e))?;
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(idempotency::HEADER, raw.clone());
        let key = IdempotencyKey::from_request(&headers, &self.method, &self.path, &body)?;
        let Some(key) = key else {
            return Ok(Guarded::New(Guard { key: None }));
        };
        let table = format!("{}.idempotency_keys", tx.schema());
        match idempotency::lookup(tx, &table, &key).await? {
            Lookup::Replay(res) => Ok(Guarded::Replay(res)),
            Lookup::New => Ok(Guarded::New(Guard { key: Some(key) })),
        }
    }
}

impl Guard {
    /// Stores the response for the key (in the transaction) and returns it.
    pub async fn finish(self, tx: &mut Tx, stored: StoredResponse) -> Result<Response, Problem> {
        if let Some(key) = &self.key {
            let table = format!("{}.idempotency_keys", tx.schema());
            idempotency::store(tx, &table, key, &stored).await?;
        }
        Ok(axum::response::IntoResponse::into_response(stored))
    }
}
