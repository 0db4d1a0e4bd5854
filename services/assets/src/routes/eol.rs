//! `/v1/eol-products` (the end-of-life snapshot) and `/v1/eol-mappings`
//! (the tenant's models mapped to product cycles).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use psa_authn::Caller;
use psa_http::extract::{Json, PathId, Query};
use psa_http::{FieldError, Problem};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Conflict, Denied, IdempotencyKey, Invalid, NotFound, Paging,
};
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx};

use crate::domain::eol::{EolCatalog, EolCycle, EolMapping, EolMappingInput, EolProduct};
use crate::error::AssetsError;
use crate::state::AssetsState;
use crate::{ASSETS_READ, ASSETS_WRITE, events, repo};

/// The products and cycles of the end-of-life snapshot the platform holds
/// (shipped with it, refreshed with `psa assets import-eol <file>`).
#[utoipa::path(get, path = "/v1/eol-products", tag = "assets",
    responses((status = 200, body = EolCatalog), Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn list_eol_products(
    State(state): State<AssetsState>,
    caller: Caller,
) -> Result<axum::Json<EolCatalog>, AssetsError> {
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_READ.name).await?;
    let info = repo::eol::snapshot_info(&mut tx).await?;
    let products = repo::eol::catalog(&mut tx).await?;
    tx.commit().await?;
    Ok(axum::Json(EolCatalog {
        source: info.as_ref().map(|i| i.0.clone()),
        as_of: info.map(|i| i.1),
        products: products
            .into_iter()
            .map(|p| EolProduct {
                product: p.product,
                label: p.label,
                cycles: p
                    .cycles
                    .into_iter()
                    .map(|c| EolCycle {
                        cycle: c.cycle,
                        release_date: c.release_date,
                        eol: c.eol,
                        support: c.support,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

impl psa_kernel::docs::Sorts for EolMapping {
    const SORTS: &'static [psa_kernel::SortField] = repo::eol::MAPPING_SORTS;
}

/// The tenant's mappings, oldest first.
#[utoipa::path(get, path = "/v1/eol-mappings", tag = "assets",
    params(Paging<EolMapping>),
    responses((status = 200, body = Page<EolMapping>), BadRequest, Denied),
    security(("bearer" = ["assets:read"])))]
pub async fn list_eol_mappings(
    State(state): State<AssetsState>,
    caller: Caller,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<EolMapping>>, AssetsError> {
    let keyset = page.keyset(repo::eol::MAPPING_SORTS, repo::eol::MAPPING_SORTS[0])?;
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_READ.name).await?;
    let page = repo::eol::mappings(&mut tx, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

/// Maps a manufacturer's model to a product cycle; the tenant's assets of
/// that model without an end of life get the cycle's (`asset.updated`
/// each). 422 `not_found` (`cycle`) for a cycle the snapshot lacks, 409
/// `conflict` for a model mapped already.
#[utoipa::path(post, path = "/v1/eol-mappings", tag = "assets", request_body = EolMappingInput,
    params(IdempotencyKey),
    responses((status = 201, body = EolMapping, headers(("Location" = String))),
        BadRequest, Denied, BodyRefused, Conflict, Invalid),
    security(("bearer" = ["assets:write"])))]
pub async fn create_eol_mapping(
    State(state): State<AssetsState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AssetsError> {
    let tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    psa_kernel::post(tx, &idem, body, async |tx, input: EolMappingInput| {
        input.validate().map_err(AssetsError::Validation)?;
        let mapping = match repo::eol::insert_mapping(tx, &input).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Err(AssetsError::Validation(vec![FieldError::with_code(
                    "cycle",
                    "not_found",
                    "the snapshot has no such product cycle (GET /v1/eol-products)",
                )]));
            }
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                return Err(Problem::conflict("this model is mapped already").into());
            }
            Err(e) => return Err(e.into()),
        };
        let source = crate::domain::eol::source_of(&mapping.product, &mapping.cycle);
        let filled = repo::eol::apply_mapping(
            tx,
            &mapping.manufacturer,
            &mapping.model,
            mapping.eol,
            &source,
        )
        .await?;
        for id in filled {
            let asset = psa_kernel::resource::find::<crate::domain::Asset>(tx, id, false).await?;
            tx.emit(&events::ASSET_UPDATED, id, &asset).await?;
        }
        let location = format!("/v1/eol-mappings/{}", mapping.id);
        Ok(Stored::created(&location, &mapping, 1)?)
    })
    .await
}

/// Removes a mapping (dates it filled stay).
#[utoipa::path(delete, path = "/v1/eol-mappings/{id}", tag = "assets",
    params(("id" = Uuid, Path)),
    responses((status = 204), Denied, NotFound),
    security(("bearer" = ["assets:write"])))]
pub async fn delete_eol_mapping(
    State(state): State<AssetsState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AssetsError> {
    let mut tx = Tx::begin(&state.store, &caller, ASSETS_WRITE.name).await?;
    if !repo::eol::delete_mapping(&mut tx, id).await? {
        return Err(Problem::not_found().into());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
