//! SQL for each CRM resource. Queries carry no tenant filter: row-level
//! security scopes them to the transaction's tenant.

use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{
    Contact, ContactInput, Contract, ContractInput, Customer, CustomerInput, Site, SiteInput,
};
use crate::error::CrmError;
use crate::events::{self, Lifecycle};
use crate::resource::{Resource, SortField, require_customer};

const COMMON_SORTS: [SortField; 3] = [
    SortField {
        name: "created_at",
        sql_type: "timestamptz",
    },
    SortField {
        name: "updated_at",
        sql_type: "timestamptz",
    },
    SortField {
        name: "name",
        sql_type: "text",
    },
];

fn unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    psa_db::constraint(err) == Some(constraint)
}

/// Draws the next number of a per-tenant sequence (`C-000042`), skipping
/// numbers already taken by hand.
async fn next_number(
    conn: &mut PgConnection,
    sequence: &str,
    prefix: &str,
) -> Result<String, CrmError> {
    loop {
        let n: i64 = sqlx::query_scalar(
            "insert into crm.number_sequences (name, last_value) values ($1, 1) \
             on conflict (tenant_id, name) do update set last_value = crm.number_sequences.last_value + 1 \
             returning last_value",
        )
        .bind(sequence)
        .fetch_one(&mut *conn)
        .await?;
        let candidate = format!("{prefix}{n:06}");
        let taken: bool = sqlx::query_scalar(
            "select exists(select 1 from crm.customers where customer_number = $1)",
        )
        .bind(&candidate)
        .fetch_one(&mut *conn)
        .await?;
        if !taken {
            return Ok(candidate);
        }
    }
}

impl Resource for Customer {
    type Input = CustomerInput;
    const TABLE: &'static str = "crm.customers";
    const PATH: &'static str = "/v1/customers";
    const READ: &'static str = "customers:read";
    const WRITE: &'static str = "customers:write";
    const EVENTS: Lifecycle = Lifecycle {
        created: events::CUSTOMER_CREATED,
        updated: events::CUSTOMER_UPDATED,
        deleted: events::CUSTOMER_DELETED,
    };
    const SORTS: &'static [SortField] = &[
        COMMON_SORTS[0],
        COMMON_SORTS[1],
        COMMON_SORTS[2],
        SortField {
            name: "customer_number",
            sql_type: "text",
        },
    ];
    const DEFAULT_SORT: &'static str = "created_at";

    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn validate(input: &CustomerInput) -> Result<(), Vec<psa_http::FieldError>> {
        input.validate()
    }

    async fn write(
        conn: &mut PgConnection,
        id: Uuid,
        input: &CustomerInput,
        existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        let number = match (&input.customer_number, existing) {
            (Some(n), _) => n.clone(),
            (None, None) => next_number(conn, "customer", "C-").await?,
            (None, Some(_)) => {
                return Err(CrmError::invalid("customer_number", "cannot be removed"));
            }
        };
        let sql = if existing.is_none() {
            "insert into crm.customers (id, customer_number, name, status, email, phone, website, address, notes, external_ids) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *"
        } else {
            "update crm.customers set customer_number = $2, name = $3, status = $4, email = $5, phone = $6, \
             website = $7, address = $8, notes = $9, external_ids = $10, version = version + 1, updated_at = now() \
             where id = $1 returning *"
        };
        sqlx::query_as::<_, Customer>(sql)
            .bind(id)
            .bind(&number)
            .bind(input.name.trim())
            .bind(input.status)
            .bind(&input.email)
            .bind(&input.phone)
            .bind(&input.website)
            .bind(input.address.as_ref().map(Json))
            .bind(&input.notes)
            .bind(Json(&input.external_ids))
            .fetch_one(conn)
            .await
            .map_err(|e| {
                if unique_violation(&e, "customers_number_unique") {
                    CrmError::Conflict(format!("customer number {number} is already taken"))
                } else {
                    e.into()
                }
            })
    }

    async fn before_delete(conn: &mut PgConnection, row: &Self) -> Result<(), CrmError> {
        let contracts: i64 =
            sqlx::query_scalar("select count(*) from crm.contracts where customer_id = $1")
                .bind(row.id)
                .fetch_one(&mut *conn)
                .await?;
        if contracts > 0 {
            return Err(CrmError::Conflict(format!(
                "the customer still has {contracts} contract(s); end and delete them first"
            )));
        }
        // Contacts and sites go with their customer; subscribers hear of each.
        let contacts: Vec<Contact> =
            sqlx::query_as("select * from crm.contacts where customer_id = $1")
                .bind(row.id)
                .fetch_all(&mut *conn)
                .await?;
        for c in &contacts {
            events::record(conn, events::CONTACT_DELETED, c.id, c).await?;
        }
        let sites: Vec<Site> = sqlx::query_as("select * from crm.sites where customer_id = $1")
            .bind(row.id)
            .fetch_all(&mut *conn)
            .await?;
        for site in &sites {
            events::record(conn, events::SITE_DELETED, site.id, site).await?;
        }
        Ok(())
    }
}

impl Resource for Contact {
    type Input = ContactInput;
    const TABLE: &'static str = "crm.contacts";
    const PATH: &'static str = "/v1/contacts";
    const READ: &'static str = "customers:read";
    const WRITE: &'static str = "customers:write";
    const EVENTS: Lifecycle = Lifecycle {
        created: events::CONTACT_CREATED,
        updated: events::CONTACT_UPDATED,
        deleted: events::CONTACT_DELETED,
    };
    const SORTS: &'static [SortField] = &COMMON_SORTS;
    const DEFAULT_SORT: &'static str = "created_at";

    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn validate(input: &ContactInput) -> Result<(), Vec<psa_http::FieldError>> {
        input.validate()
    }

    async fn write(
        conn: &mut PgConnection,
        id: Uuid,
        input: &ContactInput,
        existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(conn, input.customer_id).await?;
        if input.is_primary {
            // One primary contact per customer: the previous one steps down.
            let demoted: Vec<Contact> = sqlx::query_as(
                "update crm.contacts set is_primary = false, version = version + 1, updated_at = now() \
                 where customer_id = $1 and is_primary and id <> $2 returning *",
            )
            .bind(input.customer_id)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            for c in &demoted {
                events::record(conn, events::CONTACT_UPDATED, c.id, c).await?;
            }
        }
        let sql = if existing.is_none() {
            "insert into crm.contacts (id, customer_id, name, email, phone, title, is_primary) \
             values ($1, $2, $3, $4, $5, $6, $7) returning *"
        } else {
            "update crm.contacts set customer_id = $2, name = $3, email = $4, phone = $5, title = $6, \
             is_primary = $7, version = version + 1, updated_at = now() where id = $1 returning *"
        };
        Ok(sqlx::query_as::<_, Contact>(sql)
            .bind(id)
            .bind(input.customer_id)
            .bind(input.name.trim())
            .bind(&input.email)
            .bind(&input.phone)
            .bind(&input.title)
            .bind(input.is_primary)
            .fetch_one(conn)
            .await?)
    }
}

impl Resource for Site {
    type Input = SiteInput;
    const TABLE: &'static str = "crm.sites";
    const PATH: &'static str = "/v1/sites";
    const READ: &'static str = "customers:read";
    const WRITE: &'static str = "customers:write";
    const EVENTS: Lifecycle = Lifecycle {
        created: events::SITE_CREATED,
        updated: events::SITE_UPDATED,
        deleted: events::SITE_DELETED,
    };
    const SORTS: &'static [SortField] = &COMMON_SORTS;
    const DEFAULT_SORT: &'static str = "created_at";

    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn validate(input: &SiteInput) -> Result<(), Vec<psa_http::FieldError>> {
        input.validate()
    }

    async fn write(
        conn: &mut PgConnection,
        id: Uuid,
        input: &SiteInput,
        existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(conn, input.customer_id).await?;
        let sql = if existing.is_none() {
            "insert into crm.sites (id, customer_id, name, address, phone, time_zone, notes) \
             values ($1, $2, $3, $4, $5, $6, $7) returning *"
        } else {
            "update crm.sites set customer_id = $2, name = $3, address = $4, phone = $5, time_zone = $6, \
             notes = $7, version = version + 1, updated_at = now() where id = $1 returning *"
        };
        Ok(sqlx::query_as::<_, Site>(sql)
            .bind(id)
            .bind(input.customer_id)
            .bind(input.name.trim())
            .bind(input.address.as_ref().map(Json))
            .bind(&input.phone)
            .bind(&input.time_zone)
            .bind(&input.notes)
            .fetch_one(conn)
            .await?)
    }
}

impl Resource for Contract {
    type Input = ContractInput;
    const TABLE: &'static str = "crm.contracts";
    const PATH: &'static str = "/v1/contracts";
    const READ: &'static str = "contracts:read";
    const WRITE: &'static str = "contracts:write";
    const EVENTS: Lifecycle = Lifecycle {
        created: events::CONTRACT_CREATED,
        updated: events::CONTRACT_UPDATED,
        deleted: events::CONTRACT_DELETED,
    };
    const SORTS: &'static [SortField] = &[
        COMMON_SORTS[0],
        COMMON_SORTS[1],
        COMMON_SORTS[2],
        SortField {
            name: "start_date",
            sql_type: "date",
        },
    ];
    const DEFAULT_SORT: &'static str = "created_at";

    fn id(&self) -> Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn validate(input: &ContractInput) -> Result<(), Vec<psa_http::FieldError>> {
        input.validate()
    }

    async fn write(
        conn: &mut PgConnection,
        id: Uuid,
        input: &ContractInput,
        existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(conn, input.customer_id).await?;
        let sql = if existing.is_none() {
            "insert into crm.contracts (id, customer_id, name, type, status, start_date, end_date, currency, \
             hourly_rate, monthly_fee, included_hours, sla, business_hours) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning *"
        } else {
            "update crm.contracts set customer_id = $2, name = $3, type = $4, status = $5, start_date = $6, \
             end_date = $7, currency = $8, hourly_rate = $9, monthly_fee = $10, included_hours = $11, sla = $12, \
             business_hours = $13, version = version + 1, updated_at = now() where id = $1 returning *"
        };
        Ok(sqlx::query_as::<_, Contract>(sql)
            .bind(id)
            .bind(input.customer_id)
            .bind(input.name.trim())
            .bind(input.contract_type)
            .bind(input.status)
            .bind(input.start_date)
            .bind(input.end_date)
            .bind(&input.currency)
            .bind(input.hourly_rate)
            .bind(input.monthly_fee)
            .bind(input.included_hours)
            .bind(input.sla.map(Json))
            .bind(input.business_hours.as_ref().map(Json))
            .fetch_one(conn)
            .await?)
    }
}
