//! Thin HTTP handlers; the work is in [`crate::resource`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::{Json, JsonValue, PathId, Query};
use psa_http::pagination::Page;
use psa_http::problem::ProblemBody;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::contract::{ContractStatus, ContractType};
use crate::domain::customer::CustomerStatus;
use crate::domain::{
    Contact, ContactInput, Contract, ContractInput, Customer, CustomerInput, Site, SiteInput,
};
use crate::error::CrmError;
use crate::resource::{self, PageParams, fetch};
use crate::state::CrmState;

/// get / create / merge-patch / delete handlers for one resource, with their
/// OpenAPI descriptions.
macro_rules! item_handlers {
    ($res:ty, $input:ty, $collection:literal, $item:literal, $tag:literal,
     $read:literal, $write:literal, $create:ident, $get:ident, $patch:ident, $delete:ident) => {
        #[utoipa::path(post, path = $collection, tag = $tag, request_body = $input,
            params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body within 24 h return the first response")),
            responses(
                (status = 201, body = $res, headers(("Location" = String), ("ETag" = String))),
                (status = 400, body = ProblemBody, content_type = "application/problem+json"),
                (status = 401, body = ProblemBody, content_type = "application/problem+json"),
                (status = 403, body = ProblemBody, content_type = "application/problem+json"),
                (status = 409, body = ProblemBody, content_type = "application/problem+json"),
                (status = 422, body = ProblemBody, content_type = "application/problem+json"),
            ),
            security(("bearer" = [$write])))]
        pub async fn $create(State(state): State<CrmState>, caller: Caller, headers: HeaderMap, Json(body): Json<serde_json::Value>) -> Result<Response, CrmError> {
            resource::create::<$res>(&state, &caller, &headers, body).await
        }

        #[utoipa::path(get, path = $item, tag = $tag, params(("id" = Uuid, Path)),
            responses(
                (status = 200, body = $res, headers(("ETag" = String))),
                (status = 401, body = ProblemBody, content_type = "application/problem+json"),
                (status = 404, body = ProblemBody, content_type = "application/problem+json"),
            ),
            security(("bearer" = [$read])))]
        pub async fn $get(State(state): State<CrmState>, caller: Caller, PathId(id): PathId) -> Result<Response, CrmError> {
            resource::get::<$res>(&state, &caller, id).await
        }

        #[utoipa::path(patch, path = $item, tag = $tag,
            request_body(content = serde_json::Value, content_type = "application/merge-patch+json", description = "JSON Merge Patch (RFC 7396) over the writable fields"),
            params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\"; 412 when stale")),
            responses(
                (status = 200, body = $res, headers(("ETag" = String))),
                (status = 404, body = ProblemBody, content_type = "application/problem+json"),
                (status = 409, body = ProblemBody, content_type = "application/problem+json"),
                (status = 412, body = ProblemBody, content_type = "application/problem+json"),
                (status = 422, body = ProblemBody, content_type = "application/problem+json"),
            ),
            security(("bearer" = [$write])))]
        pub async fn $patch(State(state): State<CrmState>, caller: Caller, headers: HeaderMap, PathId(id): PathId, JsonValue(patch): JsonValue) -> Result<Response, CrmError> {
            resource::patch::<$res>(&state, &caller, &headers, id, patch).await
        }

        #[utoipa::path(delete, path = $item, tag = $tag,
            params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\"; 412 when stale")),
            responses(
                (status = 204),
                (status = 404, body = ProblemBody, content_type = "application/problem+json"),
                (status = 409, body = ProblemBody, content_type = "application/problem+json"),
                (status = 412, body = ProblemBody, content_type = "application/problem+json"),
            ),
            security(("bearer" = [$write])))]
        pub async fn $delete(State(state): State<CrmState>, caller: Caller, headers: HeaderMap, PathId(id): PathId) -> Result<Response, CrmError> {
            resource::delete::<$res>(&state, &caller, &headers, id).await
        }
    };
}

item_handlers!(
    Customer,
    CustomerInput,
    "/v1/customers",
    "/v1/customers/{id}",
    "customers",
    "customers:read",
    "customers:write",
    create_customer,
    get_customer,
    patch_customer,
    delete_customer
);
item_handlers!(
    Contact,
    ContactInput,
    "/v1/contacts",
    "/v1/contacts/{id}",
    "contacts",
    "customers:read",
    "customers:write",
    create_contact,
    get_contact,
    patch_contact,
    delete_contact
);
item_handlers!(
    Site,
    SiteInput,
    "/v1/sites",
    "/v1/sites/{id}",
    "sites",
    "customers:read",
    "customers:write",
    create_site,
    get_site,
    patch_site,
    delete_site
);
item_handlers!(
    Contract,
    ContractInput,
    "/v1/contracts",
    "/v1/contracts/{id}",
    "contracts",
    "contracts:read",
    "contracts:write",
    create_contract,
    get_contract,
    patch_contract,
    delete_contract
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilters {
    pub status: Option<CustomerStatus>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    pub customer_number: Option<String>,
    /// `system:id`, e.g. `infexio:4711`.
    pub external_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

#[utoipa::path(get, path = "/v1/customers", tag = "customers", params(CustomerFilters, PageParams),
    responses((status = 200, body = Page<Customer>), (status = 400, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["customers:read"])))]
pub async fn list_customers(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<CustomerFilters>,
) -> Result<axum::Json<Page<Customer>>, CrmError> {
    let external = match f.external_id.as_deref() {
        Some(raw) => Some(
            raw.split_once(':')
                .map(|(s, i)| (s.to_owned(), i.to_owned()))
                .ok_or_else(|| psa_http::Problem::bad_request("external_id must be system:id"))?,
        ),
        None => None,
    };
    resource::list::<Customer>(&state, &caller, &f.page, |qb| {
        if let Some(s) = f.status {
            qb.push(" and status = ").push_bind(s);
        }
        if let Some(q) = f.q {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            qb.push(" and name ilike ").push_bind(pattern);
        }
        if let Some(n) = f.customer_number {
            qb.push(" and customer_number = ").push_bind(n);
        }
        if let Some((system, id)) = external {
            qb.push(" and external_ids ->> ")
                .push_bind(system)
                .push(" = ")
                .push_bind(id);
        }
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    pub customer_id: Option<Uuid>,
    pub email: Option<String>,
    pub is_primary: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

fn contact_filters(
    qb: &mut QueryBuilder<Postgres>,
    customer_id: Option<Uuid>,
    email: Option<String>,
    is_primary: Option<bool>,
) {
    if let Some(c) = customer_id {
        qb.push(" and customer_id = ").push_bind(c);
    }
    if let Some(e) = email {
        qb.push(" and lower(email) = lower(").push_bind(e).push(")");
    }
    if let Some(p) = is_primary {
        qb.push(" and is_primary = ").push_bind(p);
    }
}

#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ContactFilters, PageParams),
    responses((status = 200, body = Page<Contact>), (status = 400, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["customers:read"])))]
pub async fn list_contacts(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<ContactFilters>,
) -> Result<axum::Json<Page<Contact>>, CrmError> {
    resource::list::<Contact>(&state, &caller, &f.page, |qb| {
        contact_filters(qb, f.customer_id, f.email, f.is_primary)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteFilters {
    pub customer_id: Option<Uuid>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

#[utoipa::path(get, path = "/v1/sites", tag = "sites", params(SiteFilters, PageParams),
    responses((status = 200, body = Page<Site>), (status = 400, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["customers:read"])))]
pub async fn list_sites(
    State(state): State<CrmState>,
    caller: Caller,
    Query(f): Query<SiteFilters>,
) -> Result<axum::Json<Page<Site>>, CrmError> {
    resource::list::<Site>(&state, &caller, &f.page, |qb| {
        if let Some(c) = f.customer_id {
            qb.push(" and customer_id = ").push_bind(c);
        }
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractFilters {
    pub customer_id: Option<Uuid>,
    pub status: Option<ContractStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub contract_type: Option<ContractType>,
    /// Contracts in force on this date (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub active_on: Option<chrono::NaiveDate>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

fn contract_filters(qb: &mut QueryBuilder<Postgres>, f: ContractFilters) {
    if let Some(c) = f.customer_id {
        qb.push(" and customer_id = ").push_bind(c);
    }
    if let Some(s) = f.status {
        qb.push(" and status = ").push_bind(s);
    }
    if let Some(t) = f.contract_type {
        qb.push(" and type = ").push_bind(t);
    }
    if let Some(d) = f.active_on {
        qb.push(" and start_date <= ")
            .push_bind(d)
            .push(" and (end_date is null or end_date >= ")
            .push_bind(d)
            .push(")");
    }
}

#[utoipa::path(get, path = "/v1/contracts", tag = "contracts", params(ContractFilters, PageParams),
    responses((status = 200, body = Page<Contract>), (status = 400, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["contracts:read"])))]
pub async fn list_contracts(
    State(state): State<CrmState>,
    caller: Caller,
    Query(mut f): Query<ContractFilters>,
) -> Result<axum::Json<Page<Contract>>, CrmError> {
    let page = std::mem::take(&mut f.page);
    resource::list::<Contract>(&state, &caller, &page, |qb| contract_filters(qb, f)).await
}

/// 404 unless the customer exists in the caller's tenant.
async fn customer_exists(state: &CrmState, caller: &Caller, id: Uuid) -> Result<(), CrmError> {
    caller.require("customers:read")?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    fetch::<Customer>(&mut tx, id, false)
        .await?
        .ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    Ok(())
}

#[utoipa::path(get, path = "/v1/customers/{id}/contacts", tag = "contacts", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Contact>), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["customers:read"])))]
pub async fn customer_contacts(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Contact>>, CrmError> {
    customer_exists(&state, &caller, id).await?;
    resource::list::<Contact>(&state, &caller, &page, |qb| {
        contact_filters(qb, Some(id), None, None)
    })
    .await
}

#[utoipa::path(get, path = "/v1/customers/{id}/sites", tag = "sites", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Site>), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["customers:read"])))]
pub async fn customer_sites(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Site>>, CrmError> {
    customer_exists(&state, &caller, id).await?;
    resource::list::<Site>(&state, &caller, &page, |qb| {
        qb.push(" and customer_id = ").push_bind(id);
    })
    .await
}

#[utoipa::path(get, path = "/v1/customers/{id}/contracts", tag = "contracts", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Contract>), (status = 404, body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = ["contracts:read"])))]
pub async fn customer_contracts(
    State(state): State<CrmState>,
    caller: Caller,
    PathId(id): PathId,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Contract>>, CrmError> {
    caller.require("contracts:read")?;
    let mut tx = psa_db::begin_tenant(&state.pool, caller.tenant()?).await?;
    fetch::<Customer>(&mut tx, id, false)
        .await?
        .ok_or(CrmError::NotFound)?;
    tx.commit().await?;
    resource::list::<Contract>(&state, &caller, &page, |qb| {
        qb.push(" and customer_id = ").push_bind(id);
    })
    .await
}
