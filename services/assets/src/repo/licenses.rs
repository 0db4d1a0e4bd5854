//! `assets.licenses`: the key is sealed before it gets here and never read
//! back but by [`sealed_key`].

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, IdList, PageParams, Resource, SortField, SortValue, Tx};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::time_or_name;

const SORTS: [SortField; 3] = [
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::new("product", psa_kernel::SqlType::Text),
];
use crate::domain::asset::ExternalIds;
use crate::domain::license::BillingCycle;
use crate::domain::{License, LicenseInput};
use crate::error::AssetsError;
use crate::events;

/// What a write does to the stored key.
pub enum KeyChange {
    Keep,
    Set(Vec<u8>),
    Clear,
}

impl Resource for License {
    type Input = LicenseInput;
    type Error = AssetsError;
    const TABLE: &'static str = "assets.licenses";
    const COLUMNS: &'static str = "id, customer_id, product, vendor, license_key is not null as has_key, \
        seats, (select count(*) from assets.license_assignments a where a.license_id = licenses.id) as seats_used, \
        start_date, expiry_date, cost, currency, billing_cycle, notes, external_ids, version, \
        created_at, updated_at";
    const PATH: &'static str = "/v1/licenses";
    const READ: &'static str = crate::ASSETS_READ.name;
    const WRITE: &'static str = crate::ASSETS_WRITE.name;
    const CREATED: EventType<Self> = events::LICENSE_CREATED;
    const UPDATED: EventType<Self> = events::LICENSE_UPDATED;
    const SORTS: &'static [SortField] = &SORTS;
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        time_or_name(field, &self.product, self.created_at, self.updated_at)
    }

    fn validate(input: &LicenseInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    /// Not used for licenses' writes, which seal the key first ([`save`]).
    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &LicenseInput,
        _existing: Option<&Self>,
    ) -> Result<Self, AssetsError> {
        save(tx, id, input, KeyChange::Keep).await
    }
}

impl Deletable for License {
    const DELETED: EventType<Self> = events::LICENSE_DELETED;
}

/// Writes the license as new or as its next version; 409 when fewer seats
/// than assignments would remain.
pub async fn save(
    conn: &mut PgConnection,
    id: Uuid,
    i: &LicenseInput,
    key: KeyChange,
) -> Result<License, AssetsError> {
    if !super::projection::customer_known(conn, i.customer_id).await? {
        return Err(AssetsError::Unknown("customer_id", "customer"));
    }
    let used = sqlx::query_scalar!(
        r#"select count(*) as "n!" from assets.license_assignments where license_id = $1"#,
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    if used > i64::from(i.seats) {
        return Err(AssetsError::SeatsInUse(used));
    }
    let (set_key, key_bytes) = match key {
        KeyChange::Keep => (false, None),
        KeyChange::Set(k) => (true, Some(k)),
        KeyChange::Clear => (true, None),
    };
    Ok(sqlx::query_as!(
        License,
        r#"insert into assets.licenses (id, customer_id, product, vendor, license_key, seats,
             start_date, expiry_date, cost, currency, billing_cycle, notes, external_ids)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
             product = excluded.product, vendor = excluded.vendor,
             license_key = case when $14 then excluded.license_key else assets.licenses.license_key end,
             seats = excluded.seats, start_date = excluded.start_date,
             expiry_date = excluded.expiry_date, cost = excluded.cost, currency = excluded.currency,
             billing_cycle = excluded.billing_cycle, notes = excluded.notes,
             external_ids = excluded.external_ids, version = assets.licenses.version + 1,
             updated_at = now()
           returning id, customer_id, product, vendor, license_key is not null as "has_key!",
             seats, $15::bigint as "seats_used!", start_date, expiry_date, cost, currency,
             billing_cycle as "billing_cycle: BillingCycle", notes,
             external_ids as "external_ids: Json<ExternalIds>", version, created_at, updated_at"#,
        id,
        i.customer_id,
        i.product.trim(),
        i.vendor,
        key_bytes,
        i.seats,
        i.start_date,
        i.expiry_date,
        i.cost,
        i.currency,
        i.billing_cycle as _,
        i.notes,
        Json(&i.external_ids) as _,
        set_key,
        used,
    )
    .fetch_one(conn)
    .await?)
}

/// The license's sealed key; None for a license the tenant does not have,
/// Some(None) for one without a key.
pub async fn sealed_key(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Option<Vec<u8>>>, sqlx::Error> {
    sqlx::query_scalar!("select license_key from assets.licenses where id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Records that `subject` read the key.
pub async fn record_reveal(
    conn: &mut PgConnection,
    license: Uuid,
    subject: &str,
    client_id: Option<&str>,
) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into assets.key_reveals (id, license_id, subject, client_id) values ($1, $2, $3, $4)
         returning revealed_at",
        Uuid::now_v7(),
        license,
        subject,
        client_id
    )
    .fetch_one(conn)
    .await
}

pub const REVEAL_SORTS: &[SortField] = &[SortField::new(
    "revealed_at",
    psa_kernel::SqlType::Timestamptz,
)];

/// One page of the reads of a license's key, oldest first
/// (`updated_since` reads as "revealed since").
pub async fn reveals(
    conn: &mut PgConnection,
    license: Uuid,
    keyset: &psa_kernel::Keyset,
) -> Result<psa_kernel::Page<crate::domain::license::KeyReveal>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, license_id, subject, client_id, revealed_at
         from (select id, license_id, subject, client_id, revealed_at,
                 revealed_at as updated_at from assets.key_reveals) as reveals
         where license_id = ",
    );
    qb.push_bind(license);
    keyset
        .fetch(conn, qb, |r: &crate::domain::license::KeyReveal, _| {
            (SortValue::Time(r.revealed_at), r.id)
        })
        .await
}

/// What the license list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseFilters {
    pub customer_id: Option<IdList>,
    /// Only licenses with a seat assigned to one of these assets.
    pub asset_id: Option<IdList>,
    /// Only licenses expiring before this date.
    pub expiry_before: Option<chrono::NaiveDate>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's licenses, for many customers at once. (Not per asset: a
// license is not an asset's row but may hold seats of many assets.)
psa_http::per_filters!(LicenseFilters: customer_id);

impl LicenseFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = &self.customer_id {
            c.push_filter(qb, "customer_id");
        }
        if let Some(a) = &self.asset_id {
            qb.push(
                " and exists (select from assets.license_assignments a \
                 where a.license_id = licenses.id",
            );
            a.push_filter(qb, "a.asset_id");
            qb.push(")");
        }
        if let Some(d) = self.expiry_before {
            qb.push(" and expiry_date < ").push_bind(d);
        }
    }
}
