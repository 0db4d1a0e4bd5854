//! One page of a collection, as every list answers it. How pages are cut
//! (limit, sort, cursors) is [`crate::keyset`].

use serde::Serialize;

/// `{"data": [...], "next_cursor": "…" | null}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}
