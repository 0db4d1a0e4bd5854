//! Relay connections over the modules' keyset lists. A GraphQL cursor
//! names a row's id; the lists are read in id order (UUID v7: creation
//! order), so a cursor becomes the module's own cursor for that position
//! ([`psa_http::keyset::id_cursor`]). A child connection's first page is
//! read for all parents of a level at once (the data loader); a page after
//! a cursor, or from the end, is read for its parent alone.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::cost::Gate;
use super::downstream::{Downstream, Failure};
use super::loaders::{Key, Rest};

pub type Loaders = DataLoader<Rest, HashMapCache>;
pub type Conn<T> = Connection<String, T>;

/// The most rows one connection returns (`first`/`last`).
pub const MAX_PAGE: i32 = 100;

/// A connection's paging arguments.
#[derive(Debug, Clone, Default)]
pub struct Paging {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl Paging {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    /// The page size and direction: exactly one of `first` and `last`,
    /// 1 to [`MAX_PAGE`]; `after` goes with `first`, `before` with `last`.
    fn size(&self) -> Result<(i32, bool), Failure> {
        let bad = |m: &str| Failure::new("VALIDATION_FAILED", m);
        let (n, backwards) = match (self.first, self.last) {
            (Some(n), None) => (n, false),
            (None, Some(n)) => (n, true),
            _ => return Err(bad("give either first or last (1 to 100)")),
        };
        if !(1..=MAX_PAGE).contains(&n) {
            return Err(bad("first and last must be from 1 to 100"));
        }
        if (backwards && self.after.is_some()) || (!backwards && self.before.is_some()) {
            return Err(bad("use after with first and before with last"));
        }
        Ok((n, backwards))
    }

    /// Just `first`: the page every parent of a level can share in one call.
    fn batchable(&self) -> Option<i32> {
        match self {
            Paging {
                first: Some(n),
                after: None,
                last: None,
                before: None,
            } => Some(*n),
            _ => None,
        }
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(raw: &str) -> Result<Uuid, Failure> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| Failure::new("VALIDATION_FAILED", "the cursor is not one this API issued"))
}

fn row_id(row: &Value) -> Option<Uuid> {
    row.get("id")?.as_str()?.parse().ok()
}

/// Rows (REST JSON) as GraphQL objects, each counted as returned.
pub fn nodes<T: DeserializeOwned>(ctx: &Context<'_>, rows: Vec<Value>) -> Result<Vec<(Uuid, T)>> {
    ctx.data_unchecked::<Arc<Gate>>()
        .actual
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    rows.into_iter()
        .map(|row| {
            let id = row_id(&row)
                .ok_or_else(|| Failure::new("INTERNAL", "a row without an id was returned"))?;
            let node = serde_json::from_value(row)
                .map_err(|e| Failure::new("INTERNAL", format!("an unexpected row: {e}")))?;
            Ok((id, node))
        })
        .collect()
}

fn connection<T: OutputType + DeserializeOwned>(
    ctx: &Context<'_>,
    rows: Vec<Value>,
    has_previous: bool,
    has_next: bool,
) -> Result<Conn<T>> {
    let mut conn = Connection::new(has_previous, has_next);
    conn.edges = nodes(ctx, rows)?
        .into_iter()
        .map(|(id, node)| Edge::new(encode_cursor(id), node))
        .collect();
    Ok(conn)
}

fn query_string(filters: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(filters).unwrap_or_default()
}

/// One page of the list at `path` with `filters`.
pub async fn list<T: OutputType + DeserializeOwned>(
    ctx: &Context<'_>,
    path: &str,
    filters: &[(&str, String)],
    paging: &Paging,
) -> Result<Conn<T>> {
    let (n, backwards) = paging.size()?;
    let mut q: Vec<(&str, String)> = filters.to_vec();
    q.push(("sort", if backwards { "-id" } else { "id" }.to_owned()));
    q.push(("limit", n.to_string()));
    let from = if backwards {
        &paging.before
    } else {
        &paging.after
    };
    if let Some(c) = from {
        let id = decode_cursor(c)?;
        q.push(("cursor", psa_http::keyset::id_cursor(backwards, id)));
    }
    let body = ctx
        .data_unchecked::<Arc<Downstream>>()
        .get(&format!("{path}?{}", query_string(&q)))
        .await?;
    let mut rows = match body.get("data") {
        Some(Value::Array(rows)) => rows.clone(),
        _ => return Err(Failure::new("INTERNAL", "a list answered without data").into()),
    };
    let more = body.get("next_cursor").is_some_and(|c| !c.is_null());
    if backwards {
        rows.reverse();
        connection(ctx, rows, more, from.is_some())
    } else {
        connection(ctx, rows, from.is_some(), more)
    }
}

/// The children of `parent` in the list at `path` (whose `column` names the
/// parent): batched with the level's other parents for a first page.
pub async fn children<T: OutputType + DeserializeOwned>(
    ctx: &Context<'_>,
    path: &'static str,
    column: &'static str,
    parent: Uuid,
    filters: &[(&str, String)],
    paging: &Paging,
) -> Result<Conn<T>> {
    paging.size()?;
    let Some(first) = paging.batchable() else {
        let mut q = filters.to_vec();
        q.push((column, parent.to_string()));
        return list(ctx, path, &q, paging).await;
    };
    let mut q = filters.to_vec();
    q.push(("sort", "id".to_owned()));
    let key = Key::Children {
        path,
        column,
        parent,
        filter: query_string(&q),
        // One more than asked: whether another page follows.
        limit: first as u32 + 1,
    };
    let rows = match ctx.data_unchecked::<Loaders>().load_one(key).await {
        Ok(Some(Ok(Value::Array(rows)))) => rows,
        Ok(Some(Err(f))) => return Err(f.into()),
        _ => Vec::new(),
    };
    let more = rows.len() > first as usize;
    let rows = rows.into_iter().take(first as usize).collect();
    connection(ctx, rows, false, more)
}

/// One object of the list at `path` by id (batched with the level's
/// others); `None` when the caller cannot see it.
pub async fn by_id<T: DeserializeOwned>(
    ctx: &Context<'_>,
    path: &'static str,
    id: Uuid,
) -> Result<Option<T>, Failure> {
    let row = match ctx
        .data_unchecked::<Loaders>()
        .load_one(Key::ById { path, id })
        .await
    {
        Ok(Some(answer)) => answer?,
        _ => Value::Null,
    };
    if row.is_null() {
        return Ok(None);
    }
    ctx.data_unchecked::<Arc<Gate>>()
        .actual
        .fetch_add(1, Ordering::Relaxed);
    serde_json::from_value(row)
        .map(Some)
        .map_err(|e| Failure::new("INTERNAL", format!("an unexpected row: {e}")))
}

/// [`by_id`] where the object must exist: `NOT_FOUND` otherwise.
pub async fn one<T: DeserializeOwned>(
    ctx: &Context<'_>,
    path: &'static str,
    what: &str,
    id: Uuid,
) -> Result<Option<T>> {
    match by_id(ctx, path, id).await? {
        Some(t) => Ok(Some(t)),
        None => Err(Failure::not_found(what).into()),
    }
}

/// [`one`] for an optional reference (a ticket's contact, say).
pub async fn maybe<T: DeserializeOwned>(
    ctx: &Context<'_>,
    path: &'static str,
    what: &str,
    id: Option<Uuid>,
) -> Result<Option<T>> {
    match id {
        Some(id) => one(ctx, path, what, id).await,
        None => Ok(None),
    }
}

/// Adds `name=value` for each filter that is set.
pub fn filter<'a, T: serde::Serialize>(
    q: &mut Vec<(&'a str, String)>,
    name: &'a str,
    value: &Option<T>,
) {
    if let Some(v) = value
        && let Ok(v) = serde_json::to_value(v)
    {
        let s = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        q.push((name, s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_edited_ones_fail() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Ok(id));
        let mut edited = encode_cursor(id);
        edited.pop();
        assert_eq!(
            decode_cursor(&edited).unwrap_err().code,
            "VALIDATION_FAILED"
        );
        assert!(decode_cursor("not a cursor!").is_err());
    }

    #[test]
    fn one_of_first_and_last_within_bounds() {
        let p = |f, l| Paging::new(f, None, l, None);
        assert_eq!(p(Some(10), None).size(), Ok((10, false)));
        assert_eq!(p(None, Some(100)).size(), Ok((100, true)));
        for bad in [
            p(None, None),
            p(Some(1), Some(1)),
            p(Some(101), None),
            p(Some(0), None),
        ] {
            assert!(bad.size().is_err());
        }
        let mixed = Paging::new(Some(5), None, None, Some(encode_cursor(Uuid::nil())));
        assert!(mixed.size().is_err());
        assert_eq!(p(Some(5), None).batchable(), Some(5));
        assert_eq!(
            Paging::new(Some(5), Some(encode_cursor(Uuid::nil())), None, None).batchable(),
            None
        );
    }
}
