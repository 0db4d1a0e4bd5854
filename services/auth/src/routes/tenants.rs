//! `/v1/tenants`: platform operators create, list, suspend and reactivate
//! tenants; a tenant's admins read theirs and change its settings.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use psa_authn::Caller;
use psa_http::conditional::{IfMatch, check_if_match};
use psa_http::extract::{Json, JsonValue, PathId, Query, from_value};
use psa_http::problem::ProblemBody;
use psa_kernel::{Guarded, Idempotency, Page, PageParams, SortField, Stored, Tx, with_etag};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ClientIp, merged, stored_with_etag};
use crate::domain::audit::Entry;
use crate::domain::tenant::{NewTenant, Tenant, TenantSettings, TenantStatus};
use crate::error::AuthError;
use crate::state::AuthState;
use crate::{TENANTS_ADMIN, USERS_WRITE, repo};

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

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key and body within 24 h return the first response")),
    responses(
        (status = 201, body = Tenant, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`platform_only`"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`tenant_taken`"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn create(
    State(state): State<AuthState>,
    caller: Caller,
    idem: Idempotency,
    ClientIp(ip): ClientIp,
    Json(body): Json<Value>,
) -> Result<Response, AuthError> {
    let mut tx = operator(&state, &caller).await?;
    let guard = match idem.sealed(state.sealer()).guard(&mut tx, &body).await? {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    let new = from_value::<NewTenant>(body)?
        .normalized()
        .map_err(AuthError::Validation)?;
    let id = new.id.unwrap_or_else(Uuid::now_v7);
    let tenant = repo::tenants::insert(&mut tx, id, &new).await?;
    let entry = Entry::by(
        &caller,
        &ip,
        "tenant.created",
        id,
        json!({"slug": tenant.slug}),
    );
    repo::audit::record(&mut tx, &entry).await?;
    let location = format!("/v1/tenants/{id}");
    let stored = Stored::created(&location, &tenant, tenant.version)?;
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(PageParams),
    responses(
        (status = 200, body = Page<Tenant>),
        (status = 400, body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`platform_only`"),
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn list(
    State(state): State<AuthState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<Page<Tenant>>, AuthError> {
    let keyset = params.keyset(repo::tenants::SORTS, SortField::CREATED_AT)?;
    let mut tx = operator(&state, &caller).await?;
    let page = repo::tenants::page(&mut tx, &keyset).await?;
    tx.commit().await?;
    Ok(axum::Json(page))
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`platform_only`"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tenants:admin"])))]
pub async fn get(
    State(state): State<AuthState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, AuthError> {
    let mut tx = operator(&state, &caller).await?;
    let tenant = repo::tenants::get(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &tenant, tenant.version))
}

/// Suspends a tenant: no new tokens or refreshes; issued access tokens
/// lapse within their lifetime. Takes no body.
#[utoipa::path(post, path = "/v1/tenants/{id}/suspend", tag = "tenants",
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key within 24 h returns the first response")),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`platform_only`"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`own_tenant`"),
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

/// Lets a suspended tenant's users and clients get tokens again. Takes no body.
#[utoipa::path(post, path = "/v1/tenants/{id}/reactivate", tag = "tenants",
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key within 24 h returns the first response")),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json",
            description = "`platform_only`"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, body = ProblemBody, content_type = "application/problem+json",
            description = "`own_tenant`"),
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
    let mut tx = operator(&state, &caller).await?;
    let guard = match idem
        .sealed(state.sealer())
        .guard(&mut tx, &Value::Null)
        .await?
    {
        Guarded::Replay(res) => return Ok(res),
        Guarded::New(guard) => guard,
    };
    if id == tx.tenant() {
        return Err(AuthError::OwnTenant);
    }
    let tenant = repo::tenants::set_status(&mut tx, id, status)
        .await?
        .ok_or(AuthError::NotFound)?;
    let action = match status {
        TenantStatus::Active => "tenant.active",
        TenantStatus::Suspended => "tenant.suspended",
    };
    repo::audit::record(&mut tx, &Entry::by(&caller, &ip, action, id, json!({}))).await?;
    let stored = stored_with_etag(StatusCode::OK, &tenant, tenant.version)?;
    let res = guard.finish(&mut tx, stored).await?;
    tx.commit().await?;
    Ok(res)
}

/// The caller's own tenant.
#[utoipa::path(get, path = "/v1/tenants/current", tag = "tenants",
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        (status = 404, body = ProblemBody, content_type = "application/problem+json",
            description = "the token's tenant is not registered"),
    ),
    security(("bearer" = [])))]
pub async fn current(
    State(state): State<AuthState>,
    caller: Caller,
) -> Result<Response, AuthError> {
    let mut tx = Tx::for_tenant(&state.store, caller.tenant()?).await?;
    let tenant = tx.tenant();
    let tenant = repo::tenants::get(&mut tx, tenant)
        .await?
        .ok_or(AuthError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &tenant, tenant.version))
}

/// Tenant admins set their tenant's name and whether MFA is required. A
/// patch that changes nothing makes no new version and no audit event.
#[utoipa::path(patch, path = "/v1/tenants/current", tag = "tenants",
    request_body(content = TenantSettings, content_type = "application/merge-patch+json",
        description = "JSON Merge Patch (RFC 7396) over `name` and `mfa_required`"),
    params(("If-Match" = Option<String>, Header, description = "\"<version>\"; 412 when stale")),
    responses(
        (status = 200, body = Tenant, headers(("ETag" = String))),
        (status = 403, body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn patch_current(
    State(state): State<AuthState>,
    caller: Caller,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    JsonValue(patch): JsonValue,
) -> Result<Response, AuthError> {
    let precondition = IfMatch::from_headers(&headers)?;
    let mut tx = Tx::begin(&state.store, &caller, USERS_WRITE.name).await?;
    let id = tx.tenant();
    let current = repo::tenants::lock(&mut tx, id)
        .await?
        .ok_or(AuthError::NotFound)?;
    check_if_match(precondition.as_ref(), current.version)?;
    let before = TenantSettings::from(&current);
    let Some(settings) = merged(&before, &patch, TenantSettings::normalized)? else {
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, &current, current.version));
    };
    let tenant = repo::tenants::update_settings(&mut tx, id, &settings).await?;
    let detail = json!({"mfa_required": tenant.mfa_required});
    let entry = Entry::by(&caller, &ip, "tenant.settings_changed", id, detail);
    repo::audit::record(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &tenant, tenant.version))
}
