//! Relay connections over the modules' keyset lists, in the order `/v1`
//! lists them by default: by creation time (then id) where the list offers
//! that, else by id (UUID v7: creation order too). A GraphQL cursor names a
//! row's place in that order (its id, and its `created_at` where the list
//! is ordered by it), from which the module's own cursor for that position
//! is made ([`psa_http::keyset::cursor_after`]). A child connection's first
//! page is read for all parents of a level at once (the data loader); a page
//! after a cursor, or from the end, is read for its parent alone.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use psa_http::keyset::{SortValue, cursor_after, id_cursor};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::cost::Gate;
use super::downstream::{Downstream, Failure};
use super::loaders::{Key, Rest};
use super::types::paths;

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

/// How a list is ordered in GraphQL: as `/v1` lists it by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `created_at`, then id.
    Created,
    /// id alone (the lists that offer no time order).
    Id,
}

impl Order {
    pub fn of(path: &str) -> Self {
        match path {
            paths::INVOICES | paths::COMMENTS | paths::TIME_ENTRIES => Order::Id,
            _ => Order::Created,
        }
    }

    /// The list's `sort` for reading forwards or backwards.
    fn sort(self, backwards: bool) -> &'static str {
        match (self, backwards) {
            (Order::Created, false) => "created_at",
            (Order::Created, true) => "-created_at",
            (Order::Id, false) => "id",
            (Order::Id, true) => "-id",
        }
    }

    /// A row's place in this order.
    fn place(self, row: &Value) -> Option<Place> {
        let id = row_id(row)?;
        let created_at = match self {
            Order::Created => Some(row.get("created_at")?.as_str()?.parse().ok()?),
            Order::Id => None,
        };
        Some(Place { id, created_at })
    }

    /// The module's cursor for the rows after (or, backwards, before) `place`.
    fn module_cursor(self, backwards: bool, place: Place) -> String {
        match place.created_at {
            Some(t) => cursor_after(self.sort(backwards), &SortValue::Time(t), place.id),
            None => id_cursor(backwards, place.id),
        }
    }
}

/// What a GraphQL cursor names: a row's id, and its creation time in a
/// list ordered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub id: Uuid,
    pub created_at: Option<DateTime<Utc>>,
}

pub fn encode_cursor(place: Place) -> String {
    let mut bytes = place.id.as_bytes().to_vec();
    if let Some(t) = place.created_at {
        bytes.extend_from_slice(&t.timestamp_micros().to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The place `raw` names in a list of `order`; `VALIDATION_FAILED` for
/// anything this API did not issue for such a list.
pub fn decode_cursor(order: Order, raw: &str) -> Result<Place, Failure> {
    let invalid = || Failure::new("VALIDATION_FAILED", "the cursor is not one this API issued");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let (id, created_at) = match (order, bytes.len()) {
        (Order::Id, 16) => (&bytes[..], None),
        (Order::Created, 24) => {
            let micros = i64::from_be_bytes(bytes[16..].try_into().map_err(|_| invalid())?);
            let t = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
            (&bytes[..16], Some(t))
        }
        _ => return Err(invalid()),
    };
    let id = Uuid::from_slice(id).map_err(|_| invalid())?;
    Ok(Place { id, created_at })
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
    order: Order,
    rows: Vec<Value>,
    has_previous: bool,
    has_next: bool,
) -> Result<Conn<T>> {
    let places = rows
        .iter()
        .map(|row| order.place(row))
        .collect::<Option<Vec<Place>>>()
        .ok_or_else(|| Failure::new("INTERNAL", "a row without its place in the list"))?;
    let mut conn = Connection::new(has_previous, has_next);
    conn.edges = places
        .into_iter()
        .zip(nodes(ctx, rows)?)
        .map(|(place, (_, node))| Edge::new(encode_cursor(place), node))
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
    let order = Order::of(path);
    let mut q: Vec<(&str, String)> = filters.to_vec();
    q.push(("sort", order.sort(backwards).to_owned()));
    q.push(("limit", n.to_string()));
    let from = if backwards {
        &paging.before
    } else {
        &paging.after
    };
    if let Some(c) = from {
        let place = decode_cursor(order, c)?;
        q.push(("cursor", order.module_cursor(backwards, place)));
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
        connection(ctx, order, rows, more, from.is_some())
    } else {
        connection(ctx, order, rows, from.is_some(), more)
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
    let order = Order::of(path);
    let mut q = filters.to_vec();
    q.push(("sort", order.sort(false).to_owned()));
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
    connection(ctx, order, rows, false, more)
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
        let by_id = Place {
            id: Uuid::now_v7(),
            created_at: None,
        };
        let by_time = Place {
            id: Uuid::now_v7(),
            created_at: DateTime::from_timestamp_micros(1_780_000_000_123_456),
        };
        assert_eq!(decode_cursor(Order::Id, &encode_cursor(by_id)), Ok(by_id));
        assert_eq!(
            decode_cursor(Order::Created, &encode_cursor(by_time)),
            Ok(by_time)
        );
        // A cursor of the other order, or edited, is refused.
        assert!(decode_cursor(Order::Created, &encode_cursor(by_id)).is_err());
        assert!(decode_cursor(Order::Id, &encode_cursor(by_time)).is_err());
        let mut edited = encode_cursor(by_time);
        edited.pop();
        assert_eq!(
            decode_cursor(Order::Created, &edited).unwrap_err().code,
            "VALIDATION_FAILED"
        );
        assert!(decode_cursor(Order::Id, "not a cursor!").is_err());
    }

    #[test]
    fn a_place_becomes_the_modules_cursor() {
        let row = serde_json::json!({"id": "0190f1c2-0000-7000-8000-000000000001",
                                     "created_at": "2026-12-02T08:15:00.123456Z"});
        let place = Order::Created.place(&row).unwrap();
        assert_eq!(place.created_at.unwrap().timestamp_subsec_micros(), 123_456);
        assert_eq!(
            Order::Created.module_cursor(true, place),
            cursor_after(
                "-created_at",
                &SortValue::Time(place.created_at.unwrap()),
                place.id
            )
        );
        assert_eq!(
            Order::Created.place(&serde_json::json!({"id": row["id"]})),
            None
        );
        assert_eq!(Order::of(paths::INVOICES), Order::Id);
        assert_eq!(Order::of(paths::TICKETS), Order::Created);
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
        let nil = encode_cursor(Place {
            id: Uuid::nil(),
            created_at: None,
        });
        let mixed = Paging::new(Some(5), None, None, Some(nil.clone()));
        assert!(mixed.size().is_err());
        assert_eq!(p(Some(5), None).batchable(), Some(5));
        assert_eq!(
            Paging::new(Some(5), Some(nil), None, None).batchable(),
            None
        );
    }
}
