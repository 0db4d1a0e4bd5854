//! `crm.customers`.

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, PageParams, Resource, SortField, SortValue, SqlType, Tx};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::{BY_TIME_OR_NAME, time_or_name};

use super::{contacts, sites};
use crate::domain::customer::{CustomerStatus, EinvoiceFormat, VatTreatment};
use crate::domain::validate::{
    Address, EXTERNAL_ID_REF_MAX, ExternalIds, external_id_ref_schema, valid_external_id,
    valid_system,
};
use crate::domain::{Customer, CustomerInput};
use crate::error::CrmError;
use crate::events;
use psa_http::formats;

impl Resource for Customer {
    type Input = CustomerInput;
    type Error = CrmError;
    const TABLE: &'static str = "crm.customers";
    const COLUMNS: &'static str = "id, customer_number, name, status, email, phone, website, \
        address, notes, external_ids, vat_id, tax_number, leitweg_id, payment_terms_days, \
        debtor_account, invoice_email, einvoice_format, vat_treatment, billing_address, version, created_at, \
        updated_at";
    const PATH: &'static str = "/v1/customers";
    const READ: &'static str = crate::CUSTOMERS_READ.name;
    const WRITE: &'static str = crate::CUSTOMERS_WRITE.name;
    const CREATED: EventType<Self> = events::CUSTOMER_CREATED;
    const UPDATED: EventType<Self> = events::CUSTOMER_UPDATED;
    const SORTS: &'static [SortField] = &[
        BY_TIME_OR_NAME[0],
        BY_TIME_OR_NAME[1],
        BY_TIME_OR_NAME[2],
        SortField::unique("customer_number", SqlType::Text),
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
            "customer_number" => SortValue::Text(self.customer_number.clone()),
            _ => time_or_name(field, &self.name, self.created_at, self.updated_at),
        }
    }

    fn validate(input: &CustomerInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &CustomerInput,
        existing: Option<&Self>,
    ) -> Result<Self, CrmError> {
        let number = match (&input.customer_number, existing) {
            (Some(n), _) => n.clone(),
            (None, None) => next_number(tx, "customer", "C-").await?,
            (None, Some(_)) => return Err(CrmError::CustomerNumberRequired),
        };
        let name = input.name.trim();
        let address = input.address.as_ref().map(Json);
        let external_ids = Json(&input.external_ids);
        let billing_address = input.billing_address.as_ref().map(Json);
        // One statement inserts a new customer or updates this one (a patch).
        let written = sqlx::query_as!(
            Customer,
            r#"insert into crm.customers (id, customer_number, name, status, email, phone,
                   website, address, notes, external_ids, vat_id, tax_number, leitweg_id,
                   payment_terms_days, invoice_email, einvoice_format, vat_treatment,
                   billing_address, debtor_account)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17, $18, $19)
               on conflict (tenant_id, id) do update set
                   customer_number = excluded.customer_number, name = excluded.name,
                   status = excluded.status, email = excluded.email, phone = excluded.phone,
                   website = excluded.website, address = excluded.address,
                   notes = excluded.notes, external_ids = excluded.external_ids,
                   vat_id = excluded.vat_id, tax_number = excluded.tax_number,
                   leitweg_id = excluded.leitweg_id,
                   payment_terms_days = excluded.payment_terms_days,
                   invoice_email = excluded.invoice_email,
                   einvoice_format = excluded.einvoice_format,
                   vat_treatment = excluded.vat_treatment,
                   billing_address = excluded.billing_address,
                   debtor_account = excluded.debtor_account,
                   version = crm.customers.version + 1, updated_at = now()
               returning id, customer_number, name, status as "status: CustomerStatus",
                   email, phone, website, address as "address: Json<Address>", notes,
                   external_ids as "external_ids: Json<ExternalIds>",
                   vat_id, tax_number, leitweg_id, payment_terms_days, debtor_account,
                   invoice_email, einvoice_format as "einvoice_format: EinvoiceFormat",
                   vat_treatment as "vat_treatment: VatTreatment",
                   billing_address as "billing_address: Json<Address>",
                   version, created_at, updated_at"#,
            id,
            number,
            name,
            input.status as _,
            input.email,
            input.phone,
            input.website,
            address as _,
            input.notes,
            external_ids as _,
            input.vat_id,
            input.tax_number,
            input.leitweg_id,
            input.payment_terms_days,
            input.invoice_email,
            input.einvoice_format as _,
            input.vat_treatment as _,
            billing_address as _,
            input.debtor_account,
        )
        .fetch_one(&mut **tx)
        .await;
        written.map_err(|e| {
            if psa_db::constraint(&e) == Some("customers_number_unique") {
                CrmError::CustomerNumberTaken(number)
            } else {
                e.into()
            }
        })
    }
}

impl Deletable for Customer {
    const DELETED: EventType<Self> = events::CUSTOMER_DELETED;

    /// A customer with contracts stays (billing history hangs on them); its
    /// contacts and sites go with it, and subscribers hear of each.
    async fn before_delete(tx: &mut Tx, row: &Self) -> Result<(), CrmError> {
        let contracts = sqlx::query_scalar!(
            r#"select count(*) as "count!" from crm.contracts where customer_id = $1"#,
            row.id
        )
        .fetch_one(&mut **tx)
        .await?;
        if contracts > 0 {
            return Err(CrmError::CustomerHasContracts(contracts));
        }
        for contact in contacts::of_customer(tx, row.id).await? {
            tx.emit(&events::CONTACT_DELETED, contact.id, &contact)
                .await?;
        }
        for site in sites::of_customer(tx, row.id).await? {
            tx.emit(&events::SITE_DELETED, site.id, &site).await?;
        }
        Ok(())
    }
}

/// Whether the tenant has this customer.
pub async fn exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from crm.customers where id = $1) as "exists!""#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Draws the next number of a per-tenant sequence (`C-000042`), skipping
/// numbers already taken by hand. The counter is the kernel's
/// ([`Tx::next_number`]): a tenant's concurrent creations do not wait for
/// each other.
async fn next_number(
    tx: &mut Tx,
    sequence: &'static str,
    prefix: &str,
) -> Result<String, sqlx::Error> {
    loop {
        let n = tx.next_number(sequence).await?;
        let candidate = format!("{prefix}{n:06}");
        let taken = sqlx::query_scalar!(
            r#"select exists(select 1 from crm.customers where customer_number = $1) as "taken!""#,
            candidate
        )
        .fetch_one(&mut **tx)
        .await?;
        if !taken {
            return Ok(candidate);
        }
    }
}

/// `system:id`, naming a customer by its id in another system.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct ExternalIdRef {
    pub system: String,
    pub id: String,
}

impl TryFrom<String> for ExternalIdRef {
    type Error = &'static str;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let (system, id) = raw
            .split_once(':')
            .filter(|_| raw.chars().count() <= EXTERNAL_ID_REF_MAX)
            .filter(|(system, id)| valid_system(system) && valid_external_id(id))
            .ok_or("must be system:id, as external_ids has them")?;
        Ok(Self {
            system: system.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// What the customer list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilters {
    pub status: Option<CustomerStatus>,
    /// Case-insensitive substring of the name.
    #[serde(default, deserialize_with = "formats::query_line::<_, 200>")]
    #[param(schema_with = formats::line::<200>)]
    pub q: Option<String>,
    #[serde(default, deserialize_with = "formats::query_line::<_, 50>")]
    #[param(schema_with = formats::line::<50>)]
    pub customer_number: Option<String>,
    /// `system:id`, e.g. `infexio:4711`.
    #[param(schema_with = external_id_ref_schema)]
    pub external_id: Option<ExternalIdRef>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

impl CustomerFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(s) = self.status {
            qb.push(" and status = ").push_bind(s);
        }
        if let Some(q) = &self.q {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            // Through the schema's function, which reads the trigram index
            // (ILIKE here could not, under row-level security).
            qb.push(" and id in (select crm.customers_named_like(")
                .push_bind(pattern)
                .push("))");
        }
        if let Some(n) = &self.customer_number {
            qb.push(" and customer_number = ").push_bind(n.clone());
        }
        if let Some(ext) = &self.external_id {
            // Through the schema's function, which reads the index on
            // external_ids (jsonb here could not, under row-level security).
            qb.push(" and id in (select crm.customers_with_external_id(")
                .push_bind(ext.system.clone())
                .push(", ")
                .push_bind(ext.id.clone())
                .push("))");
        }
    }
}
