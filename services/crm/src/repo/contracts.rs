//! `crm.contracts`.

use chrono::NaiveDate;
use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, IdList, PageParams, Resource, SortField, SortValue, SqlType, Tx};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::{BY_TIME_OR_NAME, time_or_name};

use super::require_customer;
use crate::domain::contract::{BusinessHours, ContractStatus, ContractType, SlaTerms};
use crate::domain::{Contract, ContractInput};
use crate::error::CrmError;
use crate::events;

impl Resource for Contract {
    type Input = ContractInput;
    type Error = CrmError;
    const TABLE: &'static str = "crm.contracts";
    const COLUMNS: &'static str = "id, customer_id, name, type, status, start_date, end_date, \
        currency, hourly_rate, monthly_fee, included_hours, sla, business_hours, \
        billing_increment_minutes, billing_day, version, created_at, updated_at";
    const PATH: &'static str = "/v1/contracts";
    const READ: &'static str = crate::CONTRACTS_READ.name;
    const WRITE: &'static str = crate::CONTRACTS_WRITE.name;
    const CREATED: EventType<Self> = events::CONTRACT_CREATED;
    const UPDATED: EventType<Self> = events::CONTRACT_UPDATED;
    const SORTS: &'static [SortField] = &[
        BY_TIME_OR_NAME[0],
        BY_TIME_OR_NAME[1],
        BY_TIME_OR_NAME[2],
        SortField::new("start_date", SqlType::Date),
    ];
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        match field {
            "start_date" => SortValue::Date(self.start_date),
            _ => time_or_name(field, &self.name, self.created_at, self.updated_at),
        }
    }

    fn validate(input: &ContractInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &ContractInput,
        _existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(tx, input.customer_id).await?;
        let name = input.name.trim();
        let sla = input.sla.map(Json);
        let business_hours = input.business_hours.as_ref().map(Json);
        // One statement inserts a new contract or updates this one (a patch).
        let written = sqlx::query_as!(
            Contract,
            r#"insert into crm.contracts (id, customer_id, name, type, status, start_date,
                   end_date, currency, hourly_rate, monthly_fee, included_hours, sla,
                   business_hours, billing_increment_minutes, billing_day)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               on conflict (tenant_id, id) do update set
                   customer_id = excluded.customer_id, name = excluded.name,
                   type = excluded.type, status = excluded.status,
                   start_date = excluded.start_date, end_date = excluded.end_date,
                   currency = excluded.currency, hourly_rate = excluded.hourly_rate,
                   monthly_fee = excluded.monthly_fee, included_hours = excluded.included_hours,
                   sla = excluded.sla, business_hours = excluded.business_hours,
                   billing_increment_minutes = excluded.billing_increment_minutes,
                   billing_day = excluded.billing_day,
                   version = crm.contracts.version + 1, updated_at = now()
               returning id, customer_id, name, type as "contract_type: ContractType",
                   status as "status: ContractStatus", start_date, end_date, currency,
                   hourly_rate, monthly_fee, included_hours, sla as "sla: Json<SlaTerms>",
                   business_hours as "business_hours: Json<BusinessHours>",
                   billing_increment_minutes, billing_day, version, created_at, updated_at"#,
            id,
            input.customer_id,
            name,
            input.contract_type as _,
            input.status as _,
            input.start_date,
            input.end_date,
            input.currency,
            input.hourly_rate,
            input.monthly_fee,
            input.included_hours,
            sla as _,
            business_hours as _,
            input.billing_increment_minutes,
            input.billing_day,
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(written)
    }
}

impl Deletable for Contract {
    const DELETED: EventType<Self> = events::CONTRACT_DELETED;
}

/// What the contract list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractFilters {
    pub customer_id: Option<IdList>,
    pub status: Option<ContractStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub contract_type: Option<ContractType>,
    /// Contracts in force on this date (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub active_on: Option<NaiveDate>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's contracts, for many customers at once.
psa_http::per_filters!(ContractFilters: customer_id);

impl ContractFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = &self.customer_id {
            c.push_filter(qb, "customer_id");
        }
        if let Some(s) = self.status {
            qb.push(" and status = ").push_bind(s);
        }
        if let Some(t) = self.contract_type {
            qb.push(" and type = ").push_bind(t);
        }
        if let Some(d) = self.active_on {
            qb.push(" and start_date <= ")
                .push_bind(d)
                .push(" and (end_date is null or end_date >= ")
                .push_bind(d)
                .push(")");
        }
    }
}
