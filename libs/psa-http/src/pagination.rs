//! Keyset pagination: `limit` 1..=200 (default 50) and an opaque cursor that
//! holds the sort key and id of the last row served, so pages stay stable
//! while rows are inserted between requests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::Problem;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Where the previous page ended: the sort field's value (as text) and the
/// row's id as a tie-breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort field this cursor was made for; a cursor is refused for another.
    pub s: String,
    pub v: String,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Self, Problem> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| Problem::bad_request("invalid cursor"))?;
        serde_json::from_slice(&bytes).map_err(|_| Problem::bad_request("invalid cursor"))
    }
}

/// Validates a requested limit.
pub fn limit(requested: Option<i64>) -> Result<i64, Problem> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Problem::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// A sort request: a field name and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<'a> {
    pub field: &'a str,
    pub descending: bool,
}

/// Parses `sort=field` / `sort=-field` against the fields a list offers.
pub fn sort<'a>(
    raw: Option<&str>,
    allowed: &[&'a str],
    default: &'a str,
) -> Result<Sort<'a>, Problem> {
    let raw = raw.unwrap_or(default);
    let (descending, name) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    allowed
        .iter()
        .find(|f| **f == name)
        .map(|f| Sort {
            field: f,
            descending,
        })
        .ok_or_else(|| {
            Problem::bad_request(format!(
                "sort must be one of {} (prefix with - for descending)",
                allowed.join(", ")
            ))
        })
}

/// One page of a collection, as every list endpoint answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells
    /// that there is more.
    pub fn from_rows(
        mut rows: Vec<T>,
        limit: i64,
        sort_field: &str,
        key: impl Fn(&T) -> (String, Uuid),
    ) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| {
                let (v, id) = key(last);
                Cursor {
                    s: sort_field.to_owned(),
                    v,
                    id,
                }
                .encode()
            })
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limit_bounds() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }

    #[test]
    fn garbage_cursor_is_bad_request() {
        for raw in ["", "!!!", "bm90IGpzb24", "e30"] {
            let err = Cursor::decode(raw).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{raw}");
        }
    }

    #[test]
    fn sort_parses_direction_and_rejects_unknown() {
        let s = sort(Some("-name"), &["name", "created_at"], "created_at").unwrap();
        assert_eq!(
            s,
            Sort {
                field: "name",
                descending: true
            }
        );
        assert!(sort(Some("password"), &["name"], "name").is_err());
    }

    #[test]
    fn page_sets_cursor_only_when_more() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), 2, "id", |id| (id.to_string(), *id));
        assert_eq!(page.data.len(), 2);
        let cursor = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(cursor.id, ids[1]);
        let last = Page::from_rows(ids, 3, "id", |id| (id.to_string(), *id));
        assert!(last.next_cursor.is_none());
    }

    proptest! {
        #[test]
        fn cursor_round_trips(v in ".*", s in "[a-z_]{1,20}") {
            let c = Cursor { s, v, id: Uuid::now_v7() };
            prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }

        #[test]
        fn cursor_decode_never_panics(raw in ".*") {
            let _ = Cursor::decode(&raw);
        }
    }
}
