//! `crm.contacts`.

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, IdList, PageParams, Resource, SortField, SortValue, Tx};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::{BY_TIME_OR_NAME, time_or_name};

use super::require_customer;
use crate::domain::{Contact, ContactInput};
use crate::error::CrmError;
use crate::events;

impl Resource for Contact {
    type Input = ContactInput;
    type Error = CrmError;
    const TABLE: &'static str = "crm.contacts";
    const COLUMNS: &'static str =
        "id, customer_id, name, email, phone, title, is_primary, version, created_at, updated_at";
    const PATH: &'static str = "/v1/contacts";
    const READ: &'static str = crate::CUSTOMERS_READ.name;
    const WRITE: &'static str = crate::CUSTOMERS_WRITE.name;
    const CREATED: EventType<Self> = events::CONTACT_CREATED;
    const UPDATED: EventType<Self> = events::CONTACT_UPDATED;
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

    fn validate(input: &ContactInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &ContactInput,
        _existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        require_customer(tx, input.customer_id).await?;
        if input.is_primary {
            // One primary contact per customer: the previous one steps down,
            // before this one takes its place (a unique index holds the rule).
            let demoted = sqlx::query_as!(
                Contact,
                "update crm.contacts
                 set is_primary = false, version = version + 1, updated_at = now()
                 where customer_id = $1 and is_primary and id <> $2
                 returning id, customer_id, name, email, phone, title, is_primary,
                     version, created_at, updated_at",
                input.customer_id,
                id
            )
            .fetch_all(&mut **tx)
            .await?;
            for contact in &demoted {
                tx.emit(&events::CONTACT_UPDATED, contact.id, contact)
                    .await?;
            }
        }
        let name = input.name.trim();
        // One statement inserts a new contact or updates this one (a patch).
        let written = sqlx::query_as!(
            Contact,
            "insert into crm.contacts (id, customer_id, name, email, phone, title, is_primary)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (tenant_id, id) do update set
                 customer_id = excluded.customer_id, name = excluded.name,
                 email = excluded.email, phone = excluded.phone, title = excluded.title,
                 is_primary = excluded.is_primary,
                 version = crm.contacts.version + 1, updated_at = now()
             returning id, customer_id, name, email, phone, title, is_primary,
                 version, created_at, updated_at",
            id,
            input.customer_id,
            name,
            input.email,
            input.phone,
            input.title,
            input.is_primary
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(written)
    }
}

impl Deletable for Contact {
    const DELETED: EventType<Self> = events::CONTACT_DELETED;
}

/// Every contact of a customer (whose delete takes them along).
pub async fn of_customer(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Vec<Contact>, sqlx::Error> {
    sqlx::query_as!(
        Contact,
        "select id, customer_id, name, email, phone, title, is_primary,
             version, created_at, updated_at
         from crm.contacts where customer_id = $1 order by id",
        customer_id
    )
    .fetch_all(conn)
    .await
}

/// What the contact list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    pub customer_id: Option<IdList>,
    /// Case-insensitive.
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 254>")]
    #[param(schema_with = psa_http::formats::line::<254>)]
    pub email: Option<String>,
    pub is_primary: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's contacts, for many customers at once.
psa_http::per_filters!(ContactFilters: customer_id);

impl ContactFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = &self.customer_id {
            c.push_filter(qb, "customer_id");
        }
        if let Some(e) = &self.email {
            // email_key is the stored lower(email): `=` on it is served by
            // its index (lower(email) would not be, under row-level security).
            qb.push(" and email_key = lower(")
                .push_bind(e.clone())
                .push(")");
        }
        if let Some(p) = self.is_primary {
            qb.push(" and is_primary = ").push_bind(p);
        }
    }
}
