//! `crm.sites`.

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, IdList, PageParams, Resource, SortField, SortValue, Tx};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::{BY_TIME_OR_NAME, time_or_name};

use super::require_customer;
use crate::domain::validate::Address;
use crate::domain::{Site, SiteInput};
use crate::error::CrmError;
use crate::events;

impl Resource for Site {
    type Input = SiteInput;
    type Error = CrmError;
    const TABLE: &'static str = "crm.sites";
    const COLUMNS: &'static str =
        "id, customer_id, name, address, phone, time_zone, notes, version, created_at, updated_at";
    const PATH: &'static str = "/v1/sites";
    const READ: &'static str = crate::CUSTOMERS_READ.name;
    const WRITE: &'static str = crate::CUSTOMERS_WRITE.name;
    const CREATED: EventType<Self> = events::SITE_CREATED;
    const UPDATED: EventType<Self> = events::SITE_UPDATED;
    const SORTS: &'static [SortField] = &BY_TIME_OR_NAME;
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        time_or_name(field, &self.name, self.created_at, self.updated_at)
    }

    fn validate(input: &SiteInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &SiteInput,
        _existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(tx, input.customer_id).await?;
        let name = input.name.trim();
        let address = input.address.as_ref().map(Json);
        // One statement inserts a new site or updates this one (a patch).
        let written = sqlx::query_as!(
            Site,
            r#"insert into crm.sites (id, customer_id, name, address, phone, time_zone, notes)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (tenant_id, id) do update set
                   customer_id = excluded.customer_id, name = excluded.name,
                   address = excluded.address, phone = excluded.phone,
                   time_zone = excluded.time_zone, notes = excluded.notes,
                   version = crm.sites.version + 1, updated_at = now()
               returning id, customer_id, name, address as "address: Json<Address>",
                   phone, time_zone, notes, version, created_at, updated_at"#,
            id,
            input.customer_id,
            name,
            address as _,
            input.phone,
            input.time_zone,
            input.notes
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(written)
    }
}

impl Deletable for Site {
    const DELETED: EventType<Self> = events::SITE_DELETED;
}

/// Every site of a customer (whose delete takes them along).
pub async fn of_customer(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Vec<Site>, sqlx::Error> {
    sqlx::query_as!(
        Site,
        r#"select id, customer_id, name, address as "address: Json<Address>",
               phone, time_zone, notes, version, created_at, updated_at
           from crm.sites where customer_id = $1 order by id"#,
        customer_id
    )
    .fetch_all(conn)
    .await
}

/// What the site list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteFilters {
    pub customer_id: Option<IdList>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's sites, for many customers at once.
psa_http::per_filters!(SiteFilters: customer_id);

impl SiteFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = &self.customer_id {
            c.push_filter(qb, "customer_id");
        }
    }
}
