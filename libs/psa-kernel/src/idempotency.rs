//! The `Idempotency-Key` guard every POST uses: lookup (replay or proceed)
//! inside the write's transaction, then store the response in the same
//! transaction, so a retry either replays the committed answer or finds
//! nothing and runs again. A module whose responses show secrets once
//! stores them sealed ([`Idempotency::sealed`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use psa_http::Problem;
use psa_http::idempotency::{self, IdempotencyKey, Lookup, Sealer, StoredResponse};
use serde::Serialize;

use crate::tx::Tx;

/// The request's `Idempotency-Key` (if any) with its method and path; an
/// extractor, so every POST handler takes it the same way.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: Option<axum::http::HeaderValue>,
    method: String,
    path: String,
    sealer: Option<Arc<dyn Sealer>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        Ok(Idempotency {
            key: parts.headers.get(idempotency::HEADER).cloned(),
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            sealer: None,
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
    sealer: Option<Arc<dyn Sealer>>,
}

impl Idempotency {
    /// Stores this request's response sealed with `sealer` and its
    /// fingerprint keyed with it (for responses that show a secret once and
    /// requests that carry one); a replay opens the response again.
    pub fn sealed(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Looks the key up for this request body (a key reused with another
    /// body is 422). Concurrent requests with one key are serialized.
    pub async fn guard<B: Serialize>(&self, tx: &mut Tx, body: &B) -> Result<Guarded, Problem> {
        let unkeyed = || {
            Guarded::New(Guard {
                key: None,
                sealer: None,
            })
        };
        let Some(raw) = &self.key else {
            return Ok(unkeyed());
        };
        let body = serde_json::to_value(body).map_err(|e| Problem::internal(&e))?;
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(idempotency::HEADER, raw.clone());
        let key = IdempotencyKey::from_request(&headers, &self.method, &self.path, &body)?;
        let Some(mut key) = key else {
            return Ok(unkeyed());
        };
        if let Some(sealer) = &self.sealer {
            key = key.keyed(sealer.as_ref());
        }
        let table = format!("{}.idempotency_keys", tx.schema());
        match idempotency::lookup_sealed(tx, &table, &key, self.sealer.as_deref()).await? {
            Lookup::Replay(res) => Ok(Guarded::Replay(res)),
            Lookup::New => Ok(Guarded::New(Guard {
                key: Some(key),
                sealer: self.sealer.clone(),
            })),
        }
    }
}

impl Guard {
    /// Stores the response for the key (in the transaction) and returns it.
    pub async fn finish(self, tx: &mut Tx, stored: StoredResponse) -> Result<Response, Problem> {
        if let Some(key) = &self.key {
            let table = format!("{}.idempotency_keys", tx.schema());
            match &self.sealer {
                Some(sealer) => {
                    idempotency::store(tx, &table, key, &stored.sealed(sealer.as_ref())).await?
                }
                None => idempotency::store(tx, &table, key, &stored).await?,
            }
        }
        Ok(axum::response::IntoResponse::into_response(stored))
    }
}
