//! Apollo's automatic persisted queries, kept per tenant in this process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::ServerError;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cost::coded;
use super::http::Body;

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
pub struct Persisted {
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
    pub fn resolve(&self, tenant: Option<Uuid>, body: &Body) -> Result<String, ServerError> {
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
}
