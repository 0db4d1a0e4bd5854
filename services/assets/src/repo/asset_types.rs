//! `assets.asset_types`: the tenant's catalogue.

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, Resource, SortField, SortValue, Tx};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use psa_kernel::resource::time_or_name;

use super::violates;
use crate::domain::asset_type::{AssetType, AssetTypeInput, FieldDef};
use crate::error::AssetsError;
use crate::events;

const SORTS: [SortField; 4] = [
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::new("name", psa_kernel::SqlType::Text),
    SortField::new("key", psa_kernel::SqlType::Text),
];

impl Resource for AssetType {
    type Input = AssetTypeInput;
    type Error = AssetsError;
    const TABLE: &'static str = "assets.asset_types";
    const COLUMNS: &'static str = "id, key, name, fields, version, created_at, updated_at";
    const PATH: &'static str = "/v1/asset-types";
    const READ: &'static str = crate::ASSETS_READ.name;
    const WRITE: &'static str = crate::ASSETS_WRITE.name;
    const CREATED: EventType<Self> = events::ASSET_TYPE_CREATED;
    const UPDATED: EventType<Self> = events::ASSET_TYPE_UPDATED;
    const SORTS: &'static [SortField] = &SORTS;
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        match field {
            "key" => SortValue::Text(self.key.clone()),
            _ => time_or_name(field, &self.name, self.created_at, self.updated_at),
        }
    }

    fn validate(input: &AssetTypeInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    async fn prepare(tx: &mut Tx) -> Result<(), AssetsError> {
        Ok(super::settings::ensure(tx).await?)
    }

    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &AssetTypeInput,
        existing: Option<&Self>,
    ) -> Result<Self, AssetsError> {
        if existing.is_some_and(|t| t.key != input.key) {
            return Err(AssetsError::TypeKeyFixed);
        }
        sqlx::query_as!(
            AssetType,
            r#"insert into assets.asset_types (id, key, name, fields) values ($1, $2, $3, $4)
               on conflict (tenant_id, id) do update set name = excluded.name,
                   fields = excluded.fields, version = assets.asset_types.version + 1,
                   updated_at = now()
               returning id, key, name, fields as "fields: Json<Vec<FieldDef>>", version,
                   created_at, updated_at"#,
            id,
            input.key,
            input.name.trim(),
            Json(&input.fields) as _,
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            if violates(&e, "asset_types_tenant_id_key_key") {
                AssetsError::TypeKeyTaken(input.key.clone())
            } else {
                e.into()
            }
        })
    }
}

impl Deletable for AssetType {
    const DELETED: EventType<Self> = events::ASSET_TYPE_DELETED;

    async fn before_delete(tx: &mut Tx, row: &Self) -> Result<(), AssetsError> {
        let n = sqlx::query_scalar!(
            r#"select count(*) as "n!" from assets.assets where type = $1"#,
            row.key
        )
        .fetch_one(&mut **tx)
        .await?;
        if n > 0 {
            return Err(AssetsError::TypeInUse(n));
        }
        Ok(())
    }
}

/// The fields of the tenant's type `key`; None for a type it does not have.
pub async fn fields_of(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<Vec<FieldDef>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select fields as "fields: Json<Vec<FieldDef>>" from assets.asset_types where key = $1"#,
        key
    )
    .fetch_optional(conn)
    .await
    .map(|f| f.map(|f| f.0))
}
