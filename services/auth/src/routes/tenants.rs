//! `/v1/tenants`: platform operators create, list, suspend and reactivate
//! tenants; a tenant's admins read theirs and change its settings.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_kernel::docs::{self, BadRequest, Conflict, Denied, Invalid, NotFound, Stale};
use psa_kernel::{Idempotency, Page, PageParams, Stored, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, committed, fetched, listed, merged, post, stored_with_etag};
use crate::domain::audit::Entry;
use crate::domain::tenant::{NewTenant, Tenant, TenantSettings, TenantStatus};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{TENANTS_ADMIN, USERS_WRITE, repo};

psa_kernel::merge_patch!(pub TenantSettingsPatch = TenantSettings);

/// A transaction for a platform operator: `tenants:admin`, held in the
/// operator's own tenant (a tenant's admin naming the permission gains nothing).
async fn operator(state: &AuthState, caller: &Caller) -> Result<Tx, AuthError> {
    let mut tx = Tx::begin(&state.store, caller, TENANTS_ADMIN.name).await?;
    let tenant = tx.tenant();
    match repo::tenants::info(&mut *tx, tenant).await? {
        Some(t) if t.is_platform && t.active => Ok(tx),
        _ => Err(AuthError::PlatformOnly),
    }
}

/// A new tenant (operators only: 403 `platform_only` otherwise); 409
/// `tenant_taken` when the id or slug is in use.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    params(docs::IdempotencyKey),
    responses(
        (status = 201, body = Tenant, headers(("Location" = String), ("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, Conflict, Invalid,
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let tx = operator(&state, &caller).await?;
    post(&state, tx, idem, body, async |tx, new: NewTenant| {
        let new = new.normalized().map_err(AuthError::Validation)?;
        let id = new.id.unwrap_or_else(Uuid::now_v7);
        let tenant = repo::tenants::insert(tx, id, &new).await?;
        let detail = json!({"slug": tenant.slug});
        repo::audit::record(tx, &Entry::by(&caller, &ip, "tenant.created", id, detail)).await?;
        let location = format!("/v1/tenants/{id}");
        Ok(Stored::created(&location, &tenant, tenant.version)?)
    })
    .await
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(docs::Paging<Tenant>),
    responses((status = 200, body = Page<Tenant>), BadRequest, Denied),
    security(("bearer" = ["tenants:admin"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Tenant>>, AuthError> {
    let tx = operator(&state, &caller).await?;
    listed(tx, &params).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants", params(("id" = Uuid, Path)),
    responses((status = 200, body = Tenant, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = ["tenants:admin"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let tx = operator(&state, &caller).await?;
    fetched::<Tenant>(tx, id).await
}

/// Suspends a tenant: no new tokens or refreshes; issued access tokens
/// lapse within their lifetime. Takes no body. 409 `own_tenant` for the
/// operator's own.
#[utoipa::path(post, path = "/v1/tenants/{id}/suspend", tag = "tenants",
    params(("id" = Uuid, Path),
        docs::IdempotencyKey),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        BadRequest, Denied, NotFound, Conflict, Invalid,
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn suspend(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    set_status(state, caller, idem, ip, id, TenantStatus::Suspended).await
}

/// Lets a suspended tenant's users and clients get tokens again. Takes no
/// body. 409 `own_tenant` for the operator's own.
#[utoipa::path(post, path = "/v1/tenants/{id}/reactivate", tag = "tenants",
    params(("id" = Uuid, Path),
        docs::IdempotencyKey),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        BadRequest, Denied, NotFound, Conflict, Invalid,
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn reactivate(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    set_status(state, caller, idem, ip, id, TenantStatus::Active).await
}

async fn set_status(
    state: AuthState,
    caller: Caller,
    idem: Idempotency,
    ip: Option<String>,
    id: Uuid,
    status: TenantStatus,
) -> Result<Response, AuthError> {
    let tx = operator(&state, &caller).await?;
    post(&state, tx, idem, Value::Null, async |tx, ()| {
        if id == tx.tenant() {
            return Err(AuthError::OwnTenant);
        }
        let tenant = repo::tenants::set_status(tx, id, status)
            .await?
            .ok_or(AuthError::NotFound)?;
        let action = match status {
            TenantStatus::Active => "tenant.active",
            TenantStatus::Suspended => "tenant.suspended",
        };
        repo::audit::record(tx, &Entry::by(&caller, &ip, action, id, json!({}))).await?;
        Ok(stored_with_etag(StatusCode::OK, &tenant, tenant.version)?)
    })
    .await
}

/// The caller's own tenant.
#[utoipa::path(get, path = "/v1/tenants/current", tag = "tenants",
    responses((status = 200, body = Tenant, headers(("ETag" = String))), Denied, NotFound),
    security(("bearer" = [])))]
pub async fn current(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, AuthError> {
    let tx = Tx::for_tenant(&state.store, caller.tenant()?).await?;
    let id = tx.tenant();
    fetched::<Tenant>(tx, id).await
}

/// Tenant admins set their tenant's name and whether MFA is required. A
/// patch that changes nothing makes no new version and no audit event.
#[utoipa::path(patch, path = "/v1/tenants/current", tag = "tenants",
    request_body(content = TenantSettingsPatch, content_type = "application/merge-patch+json"),
    params(docs::IfMatch),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        BadRequest, Denied, docs::BodyRefused, NotFound, Stale, Invalid,
    ),
    security(("bearer" = ["users:write"])))]
pub async fn patch_current(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    JsonValue(patch): JsonValue,
) -> Result<Response, AuthError> {
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let id = tx.tenant();
    let current = repo::tenants::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    let before = TenantSettings::from(&current);
    let Some(settings) = merged(
        &headers,
        current.version,
        &before,
        &patch,
        TenantSettings::normalized,
    )?
    else {
        return committed(tx, &current, current.version).await;
    };
    let tenant = repo::tenants::update_settings(&mut tx, id, &settings).await?;
    let detail = json!({"mfa_required": tenant.mfa_required});
    let entry = Entry::by(&caller, &ip, "tenant.settings_changed", id, detail);
    repo::audit::record(&mut tx, &entry).await?;
    committed(tx, &tenant, tenant.version).await
}
