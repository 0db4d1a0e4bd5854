//! The HTTP handlers, one file per resource. Each reads top to bottom as
//! the request happens: permission and tenant transaction, idempotency
//! guard, validation, repo call, outbox record, stored response, commit.
//!
//! None of tickets' resources is a plain record for the kernel's generic
//! CRUD (`psa_kernel::Resource`): opening a ticket numbers it and takes its
//! due times from the customer's contract, for a customer a patch cannot
//! change, while a patch follows the workflow and moves the clocks; comments
//! and time entries are made under a ticket, by the caller. So the handlers
//! are written out, each from the kernel's pieces.

pub mod comments;
pub mod tickets;
pub mod time_entries;

use psa_http::{Problem, merge_patch};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `current` with a JSON Merge Patch applied, or None when the patch
/// changes nothing (then no new version and no event). A value that does
/// not fit is a 422 naming the field.
pub(crate) fn merged<I>(current: I, patch: &serde_json::Value) -> Result<Option<I>, Problem>
where
    I: Serialize + DeserializeOwned + PartialEq,
{
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object"));
    }
    let value = serde_json::to_value(&current).map_err(|e| Problem::internal(&e))?;
    let next: I = merge_patch::merged(&value, patch)?;
    Ok((next != current).then_some(next))
}
