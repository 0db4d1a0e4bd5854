//! Every list of every module, with the filters each offers and the SQL
//! its handler builds for a request.

use chrono::Utc;
use psa_crm::domain::{Contact, Contract, Customer, Site};
use psa_kernel::resource::list_query;
use psa_kernel::{Keyset, PageParams, Resource, SortField};
use serde_json::{Value, json};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

/// What a list's handler does with a request's query parameters: the
/// select with its filters, and the page (sort, cursor, `updated_since`).
type Build = Box<dyn Fn(&Value) -> anyhow::Result<(QueryBuilder<Postgres>, Keyset)>>;

/// How a request's filters are tried.
#[derive(Clone, Copy, PartialEq)]
pub enum Tried {
    /// With each sort the list offers, in both directions.
    EverySort,
    /// In the list's own order (`updated_since`: the order of change).
    OwnOrder,
    /// A lookup or search: in the list's own order, its few matches sorted.
    SortsMatches,
    /// Per value of a filter (`per=`): the first page of each, every sort
    /// both ways (no cursor: one request is the whole answer).
    PerValue,
}

pub struct List {
    pub path: &'static str,
    pub module: &'static str,
    /// (schema, table) the list reads.
    pub table: (&'static str, &'static str),
    pub sorts: &'static [SortField],
    pub requests: Vec<(Value, Tried)>,
    pub build: Build,
}

fn params(query: &Value) -> anyhow::Result<PageParams> {
    Ok(serde_json::from_value(query.clone())?)
}

fn filters<F: serde::de::DeserializeOwned>(query: &Value) -> anyhow::Result<F> {
    Ok(serde_json::from_value(query.clone())?)
}

/// A kernel resource's list: `push` adds the filters the handler adds.
fn resource_list<R: Resource, F: serde::de::DeserializeOwned + 'static>(
    path: &'static str,
    table: (&'static str, &'static str),
    requests: Vec<(Value, Tried)>,
    push: fn(&F, &mut QueryBuilder<Postgres>),
) -> List {
    List {
        path,
        module: "crm",
        table,
        sorts: R::SORTS,
        requests,
        build: Box::new(move |q| {
            let f: F = filters(q)?;
            let keyset = params(q)?.keyset(R::SORTS, R::DEFAULT_SORT)?;
            Ok((list_query::<R>(|qb| push(&f, qb)), keyset))
        }),
    }
}

/// A customer's contacts, sites or contracts (`/v1/customers/{id}/…`).
fn sub_list<R: Resource>(
    path: &'static str,
    table: (&'static str, &'static str),
    customer: Uuid,
) -> List {
    List {
        path,
        module: "crm",
        table,
        sorts: R::SORTS,
        requests: vec![(json!({}), Tried::EverySort)],
        build: Box::new(move |q| {
            let keyset = params(q)?.keyset(R::SORTS, R::DEFAULT_SORT)?;
            Ok((
                list_query::<R>(|qb| psa_crm::repo::of_customer(qb, customer)),
                keyset,
            ))
        }),
    }
}

fn auth_list<R: psa_auth::repo::Listed>(
    path: &'static str,
    table: (&'static str, &'static str),
) -> List {
    List {
        path,
        module: "auth",
        table,
        sorts: R::SORTS,
        requests: vec![
            (json!({}), Tried::EverySort),
            (
                json!({"updated_since": "2000-01-01T00:00:00Z"}),
                Tried::OwnOrder,
            ),
        ],
        build: Box::new(|q| {
            Ok((
                R::list_query(),
                params(q)?.keyset(R::SORTS, SortField::CREATED_AT)?,
            ))
        }),
    }
}

/// Every list of every module, with the filters each offers.
pub fn lists([customer, neighbour]: [Uuid; 2], ticket: Uuid, since: &str) -> Vec<List> {
    use Tried::*;
    let since = json!({ "updated_since": since });
    let per_customer =
        json!({"customer_id": format!("{customer},{neighbour}"), "per": "customer_id"});
    let ticket_filters = vec![
        (json!({}), EverySort),
        (json!({"status": "open"}), EverySort),
        (json!({"status": "closed"}), EverySort),
        (json!({"priority": "high"}), EverySort),
        (json!({"customer_id": customer}), EverySort),
        (json!({"assignee_id": "user-7"}), EverySort),
        (json!({"queue": "queue-1"}), EverySort),
        (json!({"status": "open", "priority": "high"}), EverySort),
        (json!({"status": "new", "customer_id": customer}), EverySort),
        (json!({"contact_id": customer}), SortsMatches),
        (json!({"asset_id": customer}), SortsMatches),
        (per_customer, PerValue),
        (since.clone(), OwnOrder),
        (
            json!({"updated_since": since["updated_since"], "status": "open"}),
            OwnOrder,
        ),
    ];
    vec![
        List {
            path: "/v1/tickets",
            module: "tickets",
            table: ("tickets", "tickets"),
            sorts: psa_tickets::repo::tickets::SORTS,
            requests: ticket_filters,
            build: Box::new(|q| {
                use psa_tickets::repo::tickets::{SORTS, TicketFilters, list_query};
                let f: TicketFilters = filters(q)?;
                let keyset = f.page.keyset_per(SORTS, SortField::CREATED_AT, &f)?;
                Ok((list_query(&f), keyset))
            }),
        },
        List {
            path: "/v1/tickets/{id}/comments",
            module: "tickets",
            table: ("tickets", "comments"),
            sorts: &[SortField::ID],
            requests: vec![(json!({}), EverySort), (since.clone(), OwnOrder)],
            build: Box::new(move |q| {
                let keyset = Keyset::by_id(&params(q)?)?;
                let tickets = vec![ticket].into();
                Ok((psa_tickets::repo::comments::list_query(&tickets), keyset))
            }),
        },
        List {
            path: "/v1/time-entries",
            module: "tickets",
            table: ("tickets", "time_entries"),
            sorts: psa_tickets::repo::time_entries::SORTS,
            requests: vec![
                (json!({}), EverySort),
                (json!({"ticket_id": ticket}), EverySort),
                (json!({"user_id": "user-7"}), EverySort),
                (json!({"billable": true}), EverySort),
                (since.clone(), OwnOrder),
            ],
            build: Box::new(|q| {
                use psa_tickets::repo::time_entries::{SORTS, TimeEntryFilters, list_query};
                let f: TimeEntryFilters = filters(q)?;
                let keyset = f.page.keyset(SORTS, SortField::ID)?;
                Ok((list_query(&f), keyset))
            }),
        },
        resource_list::<Customer, psa_crm::repo::customers::CustomerFilters>(
            "/v1/customers",
            ("crm", "customers"),
            vec![
                (json!({}), EverySort),
                (json!({"status": "inactive"}), EverySort),
                (since.clone(), OwnOrder),
                (json!({"q": "4711"}), SortsMatches),
                (json!({"customer_number": "C-004711"}), SortsMatches),
                (json!({"external_id": "infexio:4711"}), SortsMatches),
            ],
            |f, qb| f.push(qb),
        ),
        resource_list::<Contact, psa_crm::repo::contacts::ContactFilters>(
            "/v1/contacts",
            ("crm", "contacts"),
            vec![
                (json!({}), EverySort),
                (json!({"customer_id": customer}), EverySort),
                (json!({"is_primary": true}), EverySort),
                (since.clone(), OwnOrder),
                (json!({"email": "C1.C-004711@example.com"}), SortsMatches),
            ],
            |f, qb| f.push(qb),
        ),
        resource_list::<Site, psa_crm::repo::sites::SiteFilters>(
            "/v1/sites",
            ("crm", "sites"),
            vec![
                (json!({}), EverySort),
                (json!({"customer_id": customer}), EverySort),
                (since.clone(), OwnOrder),
            ],
            |f, qb| f.push(qb),
        ),
        resource_list::<Contract, psa_crm::repo::contracts::ContractFilters>(
            "/v1/contracts",
            ("crm", "contracts"),
            vec![
                (json!({}), EverySort),
                (json!({"customer_id": customer}), EverySort),
                (json!({"status": "suspended"}), EverySort),
                (json!({"type": "project"}), EverySort),
                (json!({"active_on": Utc::now().date_naive()}), EverySort),
                (since.clone(), OwnOrder),
            ],
            |f, qb| f.push(qb),
        ),
        sub_list::<Contact>("/v1/customers/{id}/contacts", ("crm", "contacts"), customer),
        sub_list::<Site>("/v1/customers/{id}/sites", ("crm", "sites"), customer),
        sub_list::<Contract>(
            "/v1/customers/{id}/contracts",
            ("crm", "contracts"),
            customer,
        ),
        List {
            path: "/v1/users",
            module: "auth",
            table: ("auth", "users"),
            sorts: psa_auth::repo::users::SORTS,
            requests: vec![
                (json!({}), EverySort),
                (json!({"status": "suspended"}), EverySort),
                (since.clone(), OwnOrder),
            ],
            build: Box::new(|q| {
                let f: psa_auth::routes::users::UserFilter = filters(q)?;
                let keyset = f
                    .page
                    .keyset(psa_auth::repo::users::SORTS, SortField::CREATED_AT)?;
                Ok((psa_auth::repo::users::list_query(f.status), keyset))
            }),
        },
        auth_list::<psa_auth::domain::service_account::ServiceAccount>(
            "/v1/service-accounts",
            ("auth", "service_accounts"),
        ),
        auth_list::<psa_auth::domain::api_key::ApiKey>("/v1/api-keys", ("auth", "api_keys")),
        auth_list::<psa_auth::domain::audit::AuditEvent>(
            "/v1/audit-events",
            ("auth", "audit_events"),
        ),
        auth_list::<psa_auth::domain::tenant::Tenant>("/v1/tenants", ("auth", "tenants")),
        List {
            path: "/v1/roles",
            module: "auth",
            table: ("auth", "roles"),
            sorts: psa_auth::repo::roles::SORTS,
            requests: vec![(json!({}), EverySort)],
            build: Box::new(|q| {
                use psa_auth::repo::roles::{NAME, SORTS, list_query};
                let builtin = [("admin", vec!["tickets:read"]), ("technician", vec![])];
                let keyset = params(q)?.keyset(SORTS, NAME)?;
                Ok((list_query(&builtin, &keyset), keyset))
            }),
        },
        List {
            path: "/v1/audit-log",
            module: "gateway",
            table: ("gateway", "audit_log"),
            sorts: psa_gateway::repo::audit_log::SORTS,
            requests: vec![
                (json!({}), EverySort),
                (since, OwnOrder),
                (json!({"request_id": "0123456789abcdef"}), SortsMatches),
            ],
            build: Box::new(|q| {
                use psa_gateway::repo::audit_log::{SORTS, list_query};
                let keyset = params(q)?.keyset(SORTS, SortField::ID)?;
                let request_id = q["request_id"].as_str().map(str::to_owned);
                Ok((list_query(request_id), keyset))
            }),
        },
    ]
}
