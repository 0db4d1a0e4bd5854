//! `/v1/notification-rules`: which events go to which channel, for whom.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{
    BadRequest, BodyRefused, Denied, IdempotencyKey, IfMatch as IfMatchDoc, Invalid, NotFound,
    Paging, Stale,
};
use psa_kernel::{Idempotency, Page, resource};

use crate::domain::{Rule, RuleInput};
use crate::error::NotifyError;
use crate::repo::rules::RuleFilters;
use crate::state::NotifyState;

psa_kernel::merge_patch!(pub RulePatch = RuleInput, keep["enabled", "recipients"]);

/// The tenant's rules. Filter: `channel_id`. Sorts: `created_at`
/// (default), `updated_at`, `name`.
#[utoipa::path(get, path = "/v1/notification-rules", tag = "notifications",
    params(RuleFilters, Paging<Rule>),
    responses((status = 200, body = Page<Rule>), BadRequest, Denied),
    security(("bearer" = ["notifications:admin"])))]
pub async fn list_rules(
    State(state): State<NotifyState>,
    caller: Caller,
    Query(f): Query<RuleFilters>,
) -> Result<axum::Json<Page<Rule>>, NotifyError> {
    resource::list::<Rule>(&state.store, &caller, &f.page, |qb| f.push(qb)).await
}

/// Adds a rule. 422 `not_found` on `channel_id` for a channel the tenant
/// does not have, `incompatible` for recipients its kind cannot reach,
/// `invalid_template` for a template that does not parse.
#[utoipa::path(post, path = "/v1/notification-rules", tag = "notifications", request_body = RuleInput,
    params(IdempotencyKey),
    responses(
        (status = 201, body = Rule, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, BodyRefused, Invalid,
    ),
    security(("bearer" = ["notifications:admin"])))]
pub async fn create_rule(
    State(state): State<NotifyState>,
    caller: Caller,
    idem: Idempotency,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, NotifyError> {
    resource::create::<Rule>(&state.store, &caller, &idem, body).await
}

#[utoipa::path(get, path = "/v1/notification-rules/{id}", tag = "notifications",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Rule, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["notifications:admin"])))]
pub async fn get_rule(
    State(state): State<NotifyState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::get::<Rule>(&state.store, &caller, id).await
}

#[utoipa::path(patch, path = "/v1/notification-rules/{id}", tag = "notifications",
    request_body(content = RulePatch, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), IfMatchDoc),
    responses(
        (status = 200, body = Rule, headers(("ETag" = String))),
        BadRequest, Denied, BodyRefused, NotFound, Stale, Invalid,
    ),
    security(("bearer" = ["notifications:admin"])))]
pub async fn patch_rule(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
    JsonValue(patch): JsonValue,
) -> Result<Response, NotifyError> {
    resource::patch::<Rule>(&state.store, &caller, &headers, id, patch).await
}

#[utoipa::path(delete, path = "/v1/notification-rules/{id}", tag = "notifications",
    params(("id" = Uuid, Path), IfMatchDoc),
    responses((status = 204), BadRequest, Denied, NotFound, Stale),
    security(("bearer" = ["notifications:admin"])))]
pub async fn delete_rule(
    State(state): State<NotifyState>,
    caller: Caller,
    headers: HeaderMap,
    PathId(id): PathId,
) -> Result<Response, NotifyError> {
    resource::delete::<Rule>(&state.store, &caller, &headers, id).await
}
