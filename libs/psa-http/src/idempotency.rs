//! `Idempotency-Key` on POST: the first response is stored in the same
//! transaction as the change it reports, and a retry with the same key and
//! the same request gets that response back without a second change. The
//! same key with another request is 422. Keys live 24 hours, per tenant.
//!
//! Each module has a table of this shape in its own schema:
//! `(tenant_id uuid, key text, request_hash text, status smallint,
//!   headers jsonb, body jsonb, created_at timestamptz, primary key (tenant_id, key))`
//! guarded by row-level security like every tenant table.
//!
//! An endpoint whose response shows a secret once (a client secret, an API
//! key, recovery codes) or whose request carries one (a password) stores
//! through a [`Sealer`]: the body is kept encrypted and the request's
//! fingerprint keyed, so the table holds neither in a readable or guessable
//! form, and a replay opens the body again.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection};

use crate::formats;
use crate::problem::{FieldError, Problem};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// Reads the key, fingerprinting the request it came with (method, path, body).
    pub fn from_request(
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Option<Self>, Problem> {
        let Some(raw) = headers.get(HEADER) else {
            return Ok(None);
        };
        let key = raw
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| formats::IDEMPOTENCY_KEY.matches(k))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ))
            })?;
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(serde_json::to_vec(body).unwrap_or_default());
        Ok(Some(Self {
            key: key.to_owned(),
            request_hash: hex(&hasher.finalize()),
        }))
    }
}

impl IdempotencyKey {
    /// The fingerprint keyed with `sealer`, for requests that carry a secret:
    /// a plain hash of a body holding a password could be tested against
    /// guesses by anyone who reads the table.
    pub fn keyed(mut self, sealer: &dyn Sealer) -> Self {
        self.request_hash = hex(&sealer.keyed_digest(self.request_hash.as_bytes()));
        self
    }
}

/// Keeps what an idempotency record stores unreadable at rest (see the module docs).
pub trait Sealer: Send + Sync + std::fmt::Debug {
    /// Authenticated encryption of a stored body.
    fn seal(&self, plain: &[u8]) -> Vec<u8>;
    /// What `seal` made, opened; None when it was sealed with another key or altered.
    fn unseal(&self, sealed: &[u8]) -> Option<Vec<u8>>;
    /// A keyed digest (a MAC) of `data`.
    fn keyed_digest(&self, data: &[u8]) -> Vec<u8>;
}

/// The member a sealed body is stored under: `{"sealed": "<base64>"}`.
const SEALED: &str = "sealed";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A response as stored for replay.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl StoredResponse {
    /// 201 with `Location` and `ETag`, the resource as its body.
    pub fn created<T: serde::Serialize>(
        location: &str,
        body: &T,
        version: i64,
    ) -> Result<Self, Problem> {
        Self::new(StatusCode::CREATED, body).map(|s| {
            s.header(header::LOCATION.as_str(), location)
                .header(header::ETAG.as_str(), &format!("\"{version}\""))
        })
    }

    /// `status` with `body` and no headers yet.
    pub fn new<T: serde::Serialize>(status: StatusCode, body: &T) -> Result<Self, Problem> {
        Ok(Self {
            status,
            headers: Vec::new(),
            body: serde_json::to_value(body).map_err(|e| Problem::internal(&e))?,
        })
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This response with its body sealed, as it is stored; the headers
    /// (`Location`, `ETag`, `Cache-Control`) carry no secrets and stay as they are.
    pub fn sealed(&self, sealer: &dyn Sealer) -> Self {
        let plain = serde_json::to_vec(&self.body).unwrap_or_default();
        Self {
            status: self.status,
            headers: self.headers.clone(),
            body: serde_json::json!({ SEALED: STANDARD.encode(sealer.seal(&plain)) }),
        }
    }

    fn unsealed(mut self, sealer: &dyn Sealer) -> Result<Self, Problem> {
        let plain = self
            .body
            .get(SEALED)
            .and_then(serde_json::Value::as_str)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .and_then(|sealed| sealer.unseal(&sealed))
            .and_then(|plain| serde_json::from_slice(&plain).ok());
        match plain {
            Some(body) => {
                self.body = body;
                Ok(self)
            }
            None => Err(Problem::internal(&UnsealFailed)),
        }
    }
}

/// A stored body that should be sealed could not be opened (another master
/// key, or the row was altered): the replay fails rather than answer with it.
#[derive(Debug, thiserror::Error)]
#[error("a sealed idempotency record could not be opened")]
struct UnsealFailed;

impl IntoResponse for StoredResponse {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                res.headers_mut().insert(k, v);
            }
        }
        res
    }
}

/// request_hash, status, headers, body
type StoredRow = (
    String,
    i16,
    sqlx::types::Json<Vec<(String, String)>>,
    serde_json::Value,
);

pub enum Lookup {
    /// First use of the key: go ahead, then `store`.
    New,
    /// Seen before with the same request: answer this.
    Replay(Response),
}

/// Looks the key up inside the write's transaction (already scoped to the
/// tenant). Concurrent requests with one key are serialized by an advisory
/// lock held until the transaction ends, so exactly one of them writes.
pub async fn lookup(
    conn: &mut PgConnection,
    table: &str,
    key: &IdempotencyKey,
) -> Result<Lookup, Problem> {
    lookup_sealed(conn, table, key, None).await
}

/// [`lookup`] for records stored sealed with `sealer` (see [`StoredResponse::sealed`]).
pub async fn lookup_sealed(
    conn: &mut PgConnection,
    table: &str,
    key: &IdempotencyKey,
    sealer: Option<&dyn Sealer>,
) -> Result<Lookup, Problem> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended(current_setting('app.tenant_id', true) || ':' || $1, 0))")
        .bind(&key.key)
        .execute(&mut *conn)
        .await?;
    let sql = format!(
        "select request_hash, status, headers, body from {table} \
         where key = $1 and created_at > now() - interval '24 hours'"
    );
    let row: Option<StoredRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(&key.key)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok(Lookup::New),
        Some((hash, _, _, _)) if hash != key.request_hash => {
            Err(Problem::validation(vec![FieldError::with_code(
                "Idempotency-Key",
                "reused",
                "this key was already used with a different request",
            )]))
        }
        Some((_, status, headers, body)) => {
            let mut stored = StoredResponse {
                status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
                headers: headers.0,
                body,
            };
            if let Some(sealer) = sealer {
                stored = stored.unsealed(sealer)?;
            }
            let mut res = stored.into_response();
            mark_replayed(&mut res);
            Ok(Lookup::Replay(res))
        }
    }
}

/// Marks a response as the answer of an earlier request with the same key
/// (`Idempotent-Replayed: true`).
pub fn mark_replayed(res: &mut axum::response::Response) {
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
}

/// Records the response for this key in the same transaction as the change.
pub async fn store(
    conn: &mut PgConnection,
    table: &str,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<(), Problem> {
    let sql = format!(
        "insert into {table} (key, request_hash, status, headers, body) values ($1, $2, $3, $4, $5) \
         on conflict (tenant_id, key) do update set request_hash = excluded.request_hash, \
         status = excluded.status, headers = excluded.headers, body = excluded.body, created_at = now()"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(&key.key)
        .bind(&key.request_hash)
        .bind(response.status.as_u16() as i16)
        .bind(sqlx::types::Json(&response.headers))
        .bind(&response.body)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The headers a created resource answers with, in storable form.
pub fn created_headers(location: &str, version: i64) -> Vec<(String, String)> {
    vec![
        (header::LOCATION.as_str().to_owned(), location.to_owned()),
        (header::ETAG.as_str().to_owned(), format!("\"{version}\"")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(h: &str, body: serde_json::Value) -> IdempotencyKey {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(h).unwrap());
        IdempotencyKey::from_request(&headers, "POST", "/v1/customers", &body)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn same_request_same_fingerprint_other_body_differs() {
        let a = key("k1", serde_json::json!({"name": "a"}));
        assert_eq!(a, key("k1", serde_json::json!({"name": "a"})));
        assert_ne!(
            a.request_hash,
            key("k1", serde_json::json!({"name": "b"})).request_hash
        );
    }

    /// A toy sealer: XOR "encryption" and a digest that depends on its key.
    #[derive(Debug)]
    struct Xor(u8);

    impl Sealer for Xor {
        fn seal(&self, plain: &[u8]) -> Vec<u8> {
            plain.iter().map(|b| b ^ self.0).collect()
        }
        fn unseal(&self, sealed: &[u8]) -> Option<Vec<u8>> {
            let plain = self.seal(sealed);
            serde_json::from_slice::<serde_json::Value>(&plain)
                .is_ok()
                .then_some(plain)
        }
        fn keyed_digest(&self, data: &[u8]) -> Vec<u8> {
            let mut h = Sha256::new();
            h.update([self.0]);
            h.update(data);
            h.finalize().to_vec()
        }
    }

    #[test]
    fn sealed_body_hides_the_secret_and_opens_again() {
        let stored = StoredResponse::new(
            StatusCode::CREATED,
            &serde_json::json!({"client_secret": "s3cret"}),
        )
        .unwrap()
        .header("cache-control", "no-store");
        let sealed = stored.sealed(&Xor(7));
        assert!(!sealed.body.to_string().contains("s3cret"));
        assert_eq!(sealed.headers, stored.headers);
        assert_eq!(sealed.clone().unsealed(&Xor(7)).unwrap().body, stored.body);
        assert!(
            sealed.unsealed(&Xor(8)).is_err(),
            "another key cannot open it"
        );
    }

    #[test]
    fn keyed_fingerprint_depends_on_the_key_but_still_tells_bodies_apart() {
        let a = key("k1", serde_json::json!({"password": "a"}));
        let b = key("k1", serde_json::json!({"password": "b"}));
        assert_ne!(a.clone().keyed(&Xor(1)), a.clone().keyed(&Xor(2)));
        assert_ne!(a.clone().keyed(&Xor(1)), b.keyed(&Xor(1)));
        assert_eq!(a.clone().keyed(&Xor(1)), a.keyed(&Xor(1)));
    }

    #[test]
    fn empty_or_long_key_is_bad_request() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static(""));
        assert!(
            IdempotencyKey::from_request(&headers, "POST", "/", &serde_json::Value::Null).is_err()
        );
        headers.insert(HEADER, HeaderValue::from_str(&"x".repeat(256)).unwrap());
        assert!(
            IdempotencyKey::from_request(&headers, "POST", "/", &serde_json::Value::Null).is_err()
        );
    }
}
