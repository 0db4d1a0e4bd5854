//! `/v1/inventory`: RMM inventory records, upserted by (source, external
//! id).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::FieldError;
use psa_http::extract::{Json, from_value};
use psa_kernel::docs::{BadRequest, BodyRefused, Denied, IdempotencyKey, Invalid};
use psa_kernel::{Guarded, Idempotency, Stored, Tx};

use crate::INVENTORY_WRITE;
use crate::domain::inventory::{InventoryBatch, InventoryReport, RECORDS_MAX};
use crate::error::AssetsError;
use crate::repo;
use crate::state::AssetsState;

/// Records per transaction: a large batch does not hold its locks for long.
const CHUNK: usize = 250;

/// Upserts up to 1,000 device records of an RMM, each found by its
/// `source` and `external_id`. A new device becomes an asset
/// (`asset.created`; an asset with the record's manufacturer and serial
/// number is adopted instead); a changed one is updated (`asset.updated`)
/// except for the fields a person changed through the API; a record that
/// only moves `last_seen_at` changes nothing else and publishes nothing.
/// The customer is named by `customer_id` or by `customer_ref`, the
/// customer's `external_ids[source]` in the CRM; `assigned_user_email`
/// names the customer's contact. Answers 200 with one result per record
/// in the order sent: bad records are reported (`failed` with `errors`),
/// the others applied. Records are applied in transactions of 250; two
/// imports run at once per process, others wait their turn.
#[utoipa::path(post, path = "/v1/inventory", tag = "inventory", request_body = InventoryBatch,
    params(IdempotencyKey),
    responses((status = 200, body = InventoryReport), BadRequest, Denied, BodyRefused, Invalid),
    security(("bearer" = ["inventory:write"])))]
pub async fn import_inventory(
    State(state): State<AssetsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    caller.require(INVENTORY_WRITE.name)?;
    let _turn = state
        .imports
        .acquire()
        .await
        .map_err(|e| psa_http::Problem::internal(&e))?;
    let mut guard_tx = Tx::begin(&state.store, &caller, INVENTORY_WRITE.name).await?;
    let guard = match idem.guard(&mut guard_tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let batch: InventoryBatch = from_value(body)?;
    if batch.records.is_empty() || batch.records.len() > RECORDS_MAX {
        return Err(AssetsError::Validation(vec![FieldError::with_code(
            "records",
            "out_of_range",
            format!("1 to {RECORDS_MAX} records"),
        )]));
    }
    let catalog = repo::eol::catalog(&mut guard_tx).await?;
    let tenant = guard_tx.tenant();
    let records: Vec<(usize, serde_json::Value)> = batch.records.into_iter().enumerate().collect();
    let mut report = InventoryReport::default();
    for chunk in records.chunks(CHUNK) {
        let mut tx = Tx::for_tenant(&state.store, tenant).await?;
        repo::settings::ensure(&mut tx).await?;
        let results = repo::inventory::apply_chunk(&mut tx, chunk, &catalog).await?;
        tx.commit().await?;
        for r in results {
            report.push(r);
        }
    }
    let stored = Stored::new(StatusCode::OK, &report)?;
    let res = guard.finish(&mut guard_tx, stored).await?;
    guard_tx.commit().await?;
    Ok(res)
}
