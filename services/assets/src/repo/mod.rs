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

/// Whether `e` is the violation of the unique constraint or index `name`.
fn violates(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(name))
}
