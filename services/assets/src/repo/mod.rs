//! SQL for each resource of the assets module, one file per resource.
//! Queries carry no tenant filter: row-level security scopes them to the
//! transaction's tenant.

pub mod asset_types;
pub mod assets;
pub mod assignments;
pub mod eol;
pub mod inventory;
pub mod licenses;
pub mod projection;
pub mod settings;
pub mod watch;

use chrono::{DateTime, Utc};
use psa_kernel::{SortField, SortValue, SqlType};

/// The sorts the asset, license and type lists offer.
const COMMON_SORTS: [SortField; 3] = [
    SortField::CREATED_AT,
    SortField::UPDATED_AT,
    SortField::new("name", SqlType::Text),
];

fn common_sort_value(
    field: &str,
    name: &str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) -> SortValue {
    match field {
        "name" => SortValue::Text(name.to_owned()),
        "updated_at" => SortValue::Time(updated_at),
        _ => SortValue::Time(created_at),
    }
}

/// Whether `e` is the violation of the unique constraint or index `name`.
fn violates(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(name))
}
