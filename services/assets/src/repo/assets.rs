//! `assets.assets`: written by the API and by RMM inventory through one
//! checked writer ([`save`]).

use chrono::{DateTime, NaiveDate, Utc};
use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, IdList, PageParams, Resource, SortField, SortValue, Tx};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use psa_kernel::resource::{BY_TIME_OR_NAME, time_or_name};

use super::violates;
use crate::domain::asset::ExternalIds;
use crate::domain::asset_type::check_values;
use crate::domain::eol::Product;
use crate::domain::{Asset, AssetInput, AssetStatus};
use crate::error::AssetsError;
use crate::events;

pub const COLUMNS: &str = "id, customer_id, site_id, contact_id, parent_id, name, type, manufacturer, \
    model, serial_number, asset_tag, status, purchase_date, purchase_price, currency, warranty_end, \
    eol_date, eol_source, hostname, os_name, os_version, last_seen_at, notes, custom_fields, \
    external_ids, manual_fields, version, created_at, updated_at";

impl Resource for Asset {
    type Input = AssetInput;
    type Error = AssetsError;
    const TABLE: &'static str = "assets.assets";
    const COLUMNS: &'static str = COLUMNS;
    const PATH: &'static str = "/v1/assets";
    const READ: &'static str = crate::ASSETS_READ.name;
    const WRITE: &'static str = crate::ASSETS_WRITE.name;
    const CREATED: EventType<Self> = events::ASSET_CREATED;
    const UPDATED: EventType<Self> = events::ASSET_UPDATED;
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

    fn validate(input: &AssetInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn prepare(tx: &mut Tx) -> Result<(), AssetsError> {
        Ok(super::settings::ensure(tx).await?)
    }

    /// A person's write: the fields it changes become theirs (inventory
    /// leaves them be from then on).
    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &AssetInput,
        existing: Option<&Self>,
    ) -> Result<Self, AssetsError> {
        let mut manual: Vec<String> = existing
            .map(|a| a.manual_fields.clone())
            .unwrap_or_default();
        if let Some(before) = existing {
            for f in input.changed_fields(&AssetInput::from(before)) {
                if !manual.iter().any(|m| m == f) {
                    manual.push(f.to_owned());
                }
            }
        }
        let catalog = super::eol::catalog(tx).await?;
        let how = Written {
            manual_fields: manual,
            last_seen_at: existing.and_then(|a| a.last_seen_at),
        };
        save(tx, id, input.clone(), existing, &how, &catalog).await
    }
}

impl Deletable for Asset {
    const DELETED: EventType<Self> = events::ASSET_DELETED;

    async fn before_delete(tx: &mut Tx, row: &Self) -> Result<(), AssetsError> {
        let children = sqlx::query_scalar!(
            r#"select count(*) as "n!" from assets.assets where parent_id = $1"#,
            row.id
        )
        .fetch_one(&mut **tx)
        .await?;
        if children > 0 {
            return Err(AssetsError::HasChildren(children));
        }
        Ok(())
    }
}

/// What a write keeps beside the input.
pub struct Written {
    pub manual_fields: Vec<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// Checks `input` against the tenant's data (customer, site, contact,
/// type and its fields, parent without cycles), fills the end of life
/// from the snapshot where none is given, and writes the asset as new
/// (`existing` None) or as the next version.
pub async fn save(
    conn: &mut PgConnection,
    id: Uuid,
    mut input: AssetInput,
    existing: Option<&Asset>,
    how: &Written,
    catalog: &[Product],
) -> Result<Asset, AssetsError> {
    check(conn, id, &input).await?;
    let eol_source = match (input.eol_date, existing) {
        (Some(date), Some(a)) if a.eol_date == Some(date) => a.eol_source.clone(),
        (Some(_), _) => Some("manual".to_owned()),
        (None, _) => match super::eol::lookup(conn, catalog, &input).await? {
            Some((date, source)) => {
                input.eol_date = Some(date);
                Some(source)
            }
            None => None,
        },
    };
    let i = &input;
    sqlx::query_as!(
        Asset,
        r#"insert into assets.assets (id, customer_id, site_id, contact_id, parent_id, name, type,
             manufacturer, model, serial_number, asset_tag, status, purchase_date, purchase_price,
             currency, warranty_end, eol_date, eol_source, hostname, os_name, os_version,
             last_seen_at, notes, custom_fields, external_ids, manual_fields)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20, $21, $22, $23, $24, $25, $26)
           on conflict (tenant_id, id) do update set customer_id = excluded.customer_id,
             site_id = excluded.site_id, contact_id = excluded.contact_id,
             parent_id = excluded.parent_id, name = excluded.name, type = excluded.type,
             manufacturer = excluded.manufacturer, model = excluded.model,
             serial_number = excluded.serial_number, asset_tag = excluded.asset_tag,
             status = excluded.status, purchase_date = excluded.purchase_date,
             purchase_price = excluded.purchase_price, currency = excluded.currency,
             warranty_end = excluded.warranty_end, eol_date = excluded.eol_date,
             eol_source = excluded.eol_source, hostname = excluded.hostname,
             os_name = excluded.os_name, os_version = excluded.os_version,
             last_seen_at = excluded.last_seen_at, notes = excluded.notes,
             custom_fields = excluded.custom_fields, external_ids = excluded.external_ids,
             manual_fields = excluded.manual_fields,
             version = assets.assets.version + 1, updated_at = now()
           returning id, customer_id, site_id, contact_id, parent_id, name,
             type as "asset_type", manufacturer, model, serial_number, asset_tag,
             status as "status: AssetStatus", purchase_date, purchase_price, currency, warranty_end,
             eol_date, eol_source, hostname, os_name, os_version, last_seen_at, notes,
             custom_fields as "custom_fields: Json<Map<String, Value>>",
             external_ids as "external_ids: Json<ExternalIds>", manual_fields, version,
             created_at, updated_at"#,
        id,
        i.customer_id,
        i.site_id,
        i.contact_id,
        i.parent_id,
        i.name.trim(),
        i.asset_type,
        i.manufacturer,
        i.model,
        i.serial_number,
        i.asset_tag,
        i.status as _,
        i.purchase_date,
        i.purchase_price,
        i.currency,
        i.warranty_end,
        i.eol_date,
        eol_source,
        i.hostname,
        i.os_name,
        i.os_version,
        how.last_seen_at,
        i.notes,
        Json(&i.custom_fields) as _,
        Json(&i.external_ids) as _,
        &how.manual_fields,
    )
    .fetch_one(conn)
    .await
    .map_err(|e| {
        if violates(&e, "assets_serial") {
            AssetsError::SerialTaken(i.serial_number.clone().unwrap_or_default())
        } else {
            e.into()
        }
    })
}

/// The checks that need the tenant's data.
async fn check(conn: &mut PgConnection, id: Uuid, i: &AssetInput) -> Result<(), AssetsError> {
    use super::projection::{contact_of, customer_known, site_of};
    if !customer_known(conn, i.customer_id).await? {
        return Err(AssetsError::Unknown("customer_id", "customer"));
    }
    if let Some(site) = i.site_id
        && !site_of(conn, site, i.customer_id).await?
    {
        return Err(AssetsError::Unknown("site_id", "site of the customer"));
    }
    if let Some(contact) = i.contact_id
        && !contact_of(conn, contact, i.customer_id).await?
    {
        return Err(AssetsError::Unknown(
            "contact_id",
            "contact of the customer",
        ));
    }
    let Some(fields) = super::asset_types::fields_of(conn, &i.asset_type).await? else {
        return Err(AssetsError::Unknown("type", "asset type"));
    };
    let errors = check_values(&fields, &i.custom_fields);
    if !errors.is_empty() {
        return Err(AssetsError::Validation(errors));
    }
    if let Some(parent) = i.parent_id {
        if parent == id || is_ancestor(conn, id, parent).await? {
            return Err(AssetsError::ParentCycle);
        }
        if !exists(conn, parent).await? {
            return Err(AssetsError::Unknown("parent_id", "asset"));
        }
    }
    Ok(())
}

/// Whether `asset` is `parent` or one of its ancestors (the new parent
/// would close a cycle). Bounded, so a cycle that got in anyway ends.
async fn is_ancestor(
    conn: &mut PgConnection,
    asset: Uuid,
    parent: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with recursive up (id, parent_id, depth) as (
               select id, parent_id, 1 from assets.assets where id = $2
               union all
               select a.id, a.parent_id, up.depth + 1 from assets.assets a
               join up on a.id = up.parent_id where up.depth < 1000)
           select exists(select 1 from up where id = $1) as "cycle!""#,
        asset,
        parent
    )
    .fetch_one(conn)
    .await
}

pub async fn exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from assets.assets where id = $1) as "e!""#,
        id
    )
    .fetch_one(conn)
    .await
}

/// What the asset list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssetFilters {
    pub customer_id: Option<IdList>,
    pub site_id: Option<IdList>,
    pub parent_id: Option<IdList>,
    /// An asset type's key.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "psa_http::formats::query_line::<_, 64>"
    )]
    #[param(rename = "type", schema_with = psa_http::formats::line::<64>)]
    pub asset_type: Option<String>,
    pub status: Option<AssetStatus>,
    /// Only assets whose end of life is before this date.
    pub eol_before: Option<NaiveDate>,
    /// Only assets whose warranty ends before this date.
    pub warranty_before: Option<NaiveDate>,
    /// Only the asset(s) with this serial number.
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 100>")]
    #[param(schema_with = psa_http::formats::line::<100>)]
    pub serial: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

// A customer's assets, for many customers at once.
psa_http::per_filters!(AssetFilters: customer_id);

impl AssetFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = &self.customer_id {
            c.push_filter(qb, "customer_id");
        }
        if let Some(s) = &self.site_id {
            s.push_filter(qb, "site_id");
        }
        if let Some(p) = &self.parent_id {
            p.push_filter(qb, "parent_id");
        }
        if let Some(t) = &self.asset_type {
            qb.push(" and type = ").push_bind(t.clone());
        }
        if let Some(s) = self.status {
            qb.push(" and status = ").push_bind(s);
        }
        if let Some(d) = self.eol_before {
            qb.push(" and eol_date < ").push_bind(d);
        }
        if let Some(d) = self.warranty_before {
            qb.push(" and warranty_end < ").push_bind(d);
        }
        if let Some(s) = &self.serial {
            qb.push(" and serial_number = ").push_bind(s.clone());
        }
    }
}
