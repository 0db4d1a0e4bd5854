//! The two shapes every handler's transaction takes, once its [`Tx`] is open
//! (`Tx::begin` with the operation's permission): a POST and a read.

use axum::response::Response;
use psa_http::Problem;
use psa_http::extract::from_value;
use serde::de::DeserializeOwned;

use crate::Stored;
use crate::idempotency::{Guarded, Idempotency};
use crate::tx::Tx;

/// The rest of a POST: the `Idempotency-Key` guard (a replay answers at
/// once), the body parsed as `B` (after the permission check, so a caller
/// without it learns nothing of the body's rules), the work, the response
/// stored for replays in the same transaction, commit. An error rolls
/// everything back.
pub async fn post<B, E>(
    mut tx: Tx,
    idem: &Idempotency,
    body: serde_json::Value,
    work: impl AsyncFnOnce(&mut Tx, B) -> Result<Stored, E>,
) -> Result<Response, E>
where
    B: DeserializeOwned,
    E: From<Problem>,
{
    let guard = match idem.guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let stored = work(&mut tx, from_value(body)?).await?;
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

/// A read in an open transaction, committed when it succeeds.
pub async fn read<T, E>(mut tx: Tx, work: impl AsyncFnOnce(&mut Tx) -> Result<T, E>) -> Result<T, E>
where
    E: From<Problem>,
{
    let out = work(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}
