//! Cursors: where a page ended, for the sort it was made for, with a
//! checksum, as base64url JSON (`[sort, value, id, checksum]`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::SortValue;
use crate::problem::Problem;

pub(super) fn invalid_cursor() -> Problem {
    Problem::bad_request(
        "the cursor is not one this list issued (edited, truncated or from another sort)",
    )
    .with_code("invalid_cursor")
}

/// What a cursor carries: `[sort, value, id, checksum]` as base64url JSON.
pub(super) fn checksum(sort: &str, value: &str, id: &Uuid) -> String {
    let mut h = Sha256::new();
    for part in [sort.as_bytes(), &[0], value.as_bytes(), &[0], id.as_bytes()] {
        h.update(part);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn encode_cursor(sort: &str, value: &SortValue, id: Uuid) -> String {
    let v = value.encode();
    let sum = checksum(sort, &v, &id);
    let json = serde_json::json!([sort, v, id, sum]);
    URL_SAFE_NO_PAD.encode(json.to_string())
}

pub(super) fn decode_cursor(raw: &str) -> Result<(String, String, Uuid), Problem> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
    let (sort, value, id, sum): (String, String, Uuid, String) =
        serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if checksum(&sort, &value, &id) != sum {
        return Err(invalid_cursor());
    }
    Ok((sort, value, id))
}

/// The cursor a list sorted by `sort` (`created_at`, `-id`, …) issues
/// after the row `id` whose sort column holds `value`: for a component
/// that pages such a list from a row it knows (GraphQL's connections).
pub fn cursor_after(sort: &str, value: &SortValue, id: Uuid) -> String {
    encode_cursor(sort, value, id)
}

/// [`cursor_after`] for an id-ordered list (`sort=id`, or `-id` when
/// `descending`).
pub fn id_cursor(descending: bool, id: Uuid) -> String {
    let sort = if descending { "-id" } else { "id" };
    cursor_after(sort, &SortValue::Uuid(id), id)
}
