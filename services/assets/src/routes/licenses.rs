//! `/v1/licenses`: licenses, their seats and the audited reveal of their
//! keys.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, PathIds, Query};
use psa_http::{FieldError, Problem, merge_patch};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, IfMatch as IfMatchDoc, Invalid,
    NotFound, Paging, Per, Stale,
};
use psa_kernel::resource::find;
use psa_kernel::{Idempotency, Keyset, Page, PageParams, Stored, Tx, resource, with_etag};
use uuid::Uuid;

use crate::domain::license::{KeyReveal, RevealedKey};
use crate::domain::{Assignment, AssignmentInput, License, LicenseInput};
use crate::error::AssetsError;
use crate::events::{self, KeyRevealed, SeatChange};
use crate::repo::licenses::{KeyChange, LicenseFilters};
use crate::repo::{self, assignments};
use crate::state::AssetsState;
use crate::{ASSETS_READ, ASSETS_WRITE, LICENSES_REVEAL};

psa_kernel::merge_patch!(pub LicensePatch = LicenseInput);

impl psa_kernel::docs::Sorts for Assignment {
    const SORTS: &'static [psa_kernel::SortField] = assignments::SORTS;
}

/// Filters: `customer_id`, `asset_id` (licenses with a seat of one of the
/// assets), `expiry_before`, `updated_since`, `ids`; `per=customer_id`.
/// Sorts: `created_at` (default), `updated_at`, `product`.
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses",
    params(LicenseFilters, Paging<License>, Per<LicenseFilters>),
    responses((status = 200, body = Page<License>), BadRequest, Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn list_licenses(
    State(state): State<AssetsState>,
    caller: Caller,
    Query(f): Query<LicenseFilters>,
) -> Result<axum::Json<Page<License>>, AssetsError> {
    resource::list_per::<License, _>(&state.store, &caller, &f.page, &f, |qb| f.push(qb)).await
}

/// Records a license; its `license_key` is stored encrypted and never read
/// back but through `GET /v1/licenses/{id}/key`. 422 `not_found` for a
/// customer the tenant does not have.
#[utoipa::path(post, path = "/v1/licenses", tag = "licenses", request_body = LicenseInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = License, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn create_license(
    State(state): State<AssetsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    let tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    // The request carries the key: its fingerprint is keyed, not a plain hash.
    let idem = idem.sealed(state.keys.clone());
    psa_kernel::post(tx, &idem, body, async |tx, input: LicenseInput| {
        input.validate().map_err(AssetsError::Validation)?;
        let id = Uuid::now_v7();
        let key = match &input.license_key {
            Some(k) => KeyChange::Set(state.keys.encrypt(k.trim().as_bytes())),
            None => KeyChange::Keep,
        };
        let row = repo::licenses::save(tx, id, &input, key).await?;
        tx.emit(&events::LICENSE_CREATED, id, &row).await?;
        Ok(Stored::created(
            &format!("/v1/licenses/{id}"),
            &row,
            row.version,
        )?)
    })
    .await
}

#[utoipa::path(get, path = "/v1/licenses/{id}", tag = "licenses", params(("id" = Uuid, Path)),
    responses((status = 200, body = License, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["assets:read"])))]
pub async fn get_license(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::get::<License>(&state.store, &caller, id).await
}

/// Changes a license: `license_key` replaces the key (`null` removes it);
/// 409 `seats_in_use` for fewer seats than are assigned.
#[utoipa::path(patch, path = "/v1/licenses/{id}", tag = "licenses",
    request_body(content = LicensePatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatchDoc),
    responses(
        (status = 200, body = License, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Stale, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn patch_license(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(mut patch): JsonValue,
) -> Result<Response, AssetsError> {
    let precondition = IfMatch::from_headers(&headers)?;
    let Some(members) = patch.as_object_mut() else {
        return Err(Problem::bad_request("a merge patch must be a JSON object").into());
    };
    let new_key = match members.remove("license_key") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(k)) => Some(Some(k)),
        Some(_) => {
            return Err(AssetsError::Validation(vec![FieldError::new(
                "license_key",
                "must be a string or null",
            )]));
        }
    };
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    let current = find::<License>(&mut tx, id, true).await?;
    check_if_match(precondition.as_ref(), current.version)?;
    let before =
        serde_json::to_value(LicenseInput::from(&current)).map_err(|e| Problem::internal(&e))?;
    let mut input: LicenseInput = merge_patch::merged(&before, &patch)?;
    input.license_key = new_key.clone().flatten();
    input.validate().map_err(AssetsError::Validation)?;
    input.license_key = None;
    let key = match new_key {
        None => KeyChange::Keep,
        Some(None) => KeyChange::Clear,
        Some(Some(k)) => KeyChange::Set(state.keys.encrypt(k.trim().as_bytes())),
    };
    if matches!(key, KeyChange::Keep) && serde_json::to_value(&input).ok().as_ref() == Some(&before)
    {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    }
    let row = repo::licenses::save(&mut tx, id, &input, key).await?;
    tx.emit(&events::LICENSE_UPDATED, id, &row).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &row, row.version))
}

/// Deletes a license with its assignments.
#[utoipa::path(delete, path = "/v1/licenses/{id}", tag = "licenses",
    params(("id" = Uuid, Path), IfMatchDoc),
    responses((status = 204), BadRequest, Denied, NotFound, Conflict, Stale),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_license(
    State(state): State<AssetsState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    resource::delete::<License>(&state.store, &caller, &headers, id).await
}

/// The license's key, for `licenses:reveal`; every reveal is recorded (who,
/// when) and published as `license.key_revealed`. 404 for a license
/// without a key. Never cached.
#[utoipa::path(get, path = "/v1/licenses/{id}/key", tag = "licenses", params(("id" = Uuid, Path)),
    responses((status = 200, body = RevealedKey), Denied, NotFound),
    security(("bearer" = ["licenses:reveal"])))]
pub async fn reveal_key(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    let mut tx = Tx::begin(&state.store, &caller, LICENSES_REVEAL.name).await?;
    let sealed = repo::licenses::sealed_key(&mut tx, id)
        .await?
        .ok_or_else(Problem::not_found)?
        .ok_or(AssetsError::NoKey)?;
    let key = state
        .keys
        .decrypt(&sealed)
        .map_err(|e| Problem::internal(&e))?;
    let revealed_at =
        repo::licenses::record_reveal(&mut tx, id, &caller.subject, caller.client_id.as_deref())
            .await?;
    let audit = KeyRevealed {
        license_id: id,
        subject: caller.subject.clone(),
        client_id: caller.client_id.clone(),
    };
    tx.emit(&events::LICENSE_KEY_REVEALED, id, &audit).await?;
    tx.commit().await?;
    let body = RevealedKey {
        license_id: id,
        license_key: String::from_utf8_lossy(&key).into_owned(),
        revealed_at,
    };
    let mut res = axum::Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

impl psa_kernel::docs::Sorts for KeyReveal {
    const SORTS: &'static [psa_kernel::SortField] = repo::licenses::REVEAL_SORTS;
}

/// Who read the license's key and when, oldest first (an audit record:
/// `audit:read`).
#[utoipa::path(get, path = "/v1/licenses/{id}/key-reveals", tag = "licenses",
    params(("id" = Uuid, Path), Paging<KeyReveal>),
    responses((status = 200, body = Page<KeyReveal>), BadRequest, Denied, NotFound),
    security(("bearer" = ["audit:read"])))]
pub async fn list_key_reveals(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<KeyReveal>>, AssetsError> {
    let keyset = page.keyset(
        repo::licenses::REVEAL_SORTS,
        repo::licenses::REVEAL_SORTS[0],
    )?;
    let mut tx = Tx::begin(
        &state.store,
        &caller,
        psa_authn::permissions::AUDIT_READ.name,
    )
    .await?;
    find::<License>(&mut tx, id, false).await?;
    let page = repo::licenses::reveals(&mut tx, id, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// The license's seats as assigned, oldest first.
#[utoipa::path(get, path = "/v1/licenses/{id}/assignments", tag = "licenses",
    params(("id" = Uuid, Path), Paging<Assignment>),
    responses((status = 200, body = Page<Assignment>), BadRequest, Denied, NotFound),
    security(("bearer" = ["assets:read"])))]
pub async fn list_assignments(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Assignment>>, AssetsError> {
    let keyset: Keyset = page.keyset(assignments::SORTS, assignments::SORTS[0])?;
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_READ.name).await?;
    find::<License>(&mut tx, id, false).await?;
    let page = assignments::list(&mut tx, id, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// Gives a seat to an asset or a contact: 409 `seats_exhausted` when every
/// seat is taken (also under concurrent requests: the license is locked
/// while its seats are counted), 409 `already_assigned`, 422 `not_found`
/// for an asset or contact the tenant does not have.
#[utoipa::path(post, path = "/v1/licenses/{id}/assignments", tag = "licenses",
    request_body = AssignmentInput, params(("id" = Uuid, Path), IdempotencyKey),
    responses(
        (status = 201, body = Assignment, headers(("Location" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Conflict, Invalid,
    ),
    security(("bearer" = ["assets:write"])))]
pub async fn assign_seat(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    let tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: AssignmentInput| {
        let license = find::<License>(tx, id, true).await?;
        input.validate().map_err(AssetsError::Validation)?;
        let assignment = assignments::assign(tx, id, license.seats, &input).await?;
        let license = find::<License>(tx, id, false).await?;
        let change = SeatChange {
            assignment: assignment.clone(),
            license,
        };
        tx.emit(&events::LICENSE_SEAT_ASSIGNED, id, &change).await?;
        let location = format!("/v1/licenses/{id}/assignments/{}", assignment.id);
        Ok(Stored::created(&location, &assignment, 1)?)
    })
    .await
}

/// Frees a seat.
#[utoipa::path(delete, path = "/v1/licenses/{id}/assignments/{assignment_id}", tag = "licenses",
    params(("id" = Uuid, Path), ("assignment_id" = Uuid, Path)),
    responses((status = 204), BadRequest, Denied, NotFound),
    security(("bearer" = ["assets:write"])))]
pub async fn remove_assignment(
    State(state): State<AssetsState>,
    caller: Caller,
    PathIds(id, assignment): PathIds,
) -> Result<Response, AssetsError> {
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    find::<License>(&mut tx, id, true).await?;
    let removed = assignments::remove(&mut tx, id, assignment)
        .await?
        .ok_or_else(Problem::not_found)?;
    let license = find::<License>(&mut tx, id, false).await?;
    tx.emit(
        &events::LICENSE_SEAT_RELEASED,
        id,
        &SeatChange {
            assignment: removed,
            license,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
