//! `auth.roles`: a tenant's own roles. The list shows them together with the
//! built-in roles, which live in code, not in the table.

use chrono::{DateTime, Utc};
use psa_kernel::{Keyset, Page, SortField, SortValue, SqlType};
use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::role::{CustomRole, Role, RoleInput};

pub const NAME: SortField = SortField::unique("name", SqlType::Text);
pub const SORTS: &[SortField] = &[NAME];

/// A row of the combined list. A built-in role's id is made from its name
/// (for the cursor's tie-break only: the API shows none).
#[derive(sqlx::FromRow)]
struct RoleRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    permissions: Vec<String>,
    builtin: bool,
    version: Option<i64>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: (!r.builtin).then_some(r.id),
            name: r.name,
            description: r.description,
            permissions: r.permissions,
            builtin: r.builtin,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The select of the built-in roles (name, permissions) and the tenant's
/// own, for the page `keyset` asks: what [`page`] pages through (the plan
/// test explains it). The tenant's roles are limited to that page first,
/// read in name order from their index (the planner sorts a union's rows
/// otherwise, all of them); the few built-in ones join them after.
pub fn list_query(builtin: &[(&str, Vec<&str>)], keyset: &Keyset) -> QueryBuilder<Postgres> {
    let builtin: Vec<_> = builtin
        .iter()
        .map(|(name, perms)| json!({"name": name, "permissions": perms}))
        .collect();
    let mut qb = QueryBuilder::new(
        "select id, name, description, permissions, builtin, version, created_at, updated_at \
         from ((select id, name, description, permissions, false as builtin, version, \
                       created_at, updated_at from auth.roles where true",
    );
    keyset.push(&mut qb);
    qb.push(
        ") union all \
         (select md5('builtin role ' || b.name)::uuid, b.name, null::text, \
                 array(select jsonb_array_elements_text(b.permissions)), true, \
                 null::bigint, null::timestamptz, null::timestamptz \
          from jsonb_to_recordset(",
    )
    .push_bind(serde_json::Value::Array(builtin))
    .push(") as b(name text, permissions jsonb))) as roles where true");
    qb
}

/// One page of the built-in roles and the tenant's own, by name.
pub async fn page(
    conn: &mut PgConnection,
    builtin: &[(&str, Vec<&str>)],
    keyset: &Keyset,
) -> Result<Page<Role>, sqlx::Error> {
    let page = keyset
        .fetch(conn, list_query(builtin, keyset), |r: &RoleRow, _| {
            (SortValue::Text(r.name.clone()), r.id)
        })
        .await?;
    Ok(Page {
        data: page.data.into_iter().map(Role::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Creates the role, or changes it when it exists.
pub async fn save(
    conn: &mut PgConnection,
    id: Uuid,
    input: &RoleInput,
) -> Result<CustomRole, sqlx::Error> {
    sqlx::query_as!(
        CustomRole,
        "insert into auth.roles (id, name, description, permissions) values ($1, $2, $3, $4)
         on conflict (tenant_id, id) do update set name = excluded.name,
             description = excluded.description, permissions = excluded.permissions,
             version = roles.version + 1, updated_at = now()
         returning id, name, description, permissions, version, created_at, updated_at",
        id,
        input.name,
        input.description,
        &input.permissions,
    )
    .fetch_one(conn)
    .await
}

/// The role, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<CustomRole>, sqlx::Error> {
    sqlx::query_as!(
        CustomRole,
        "select id, name, description, permissions, version, created_at, updated_at
         from auth.roles where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from auth.roles where id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The permissions of each of the tenant's roles named in `names`.
pub async fn permissions_of(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    sqlx::query_scalar!(
        "select permissions from auth.roles where name = any($1)",
        names
    )
    .fetch_all(conn)
    .await
}

/// Which of `names` are roles of the tenant.
pub async fn existing(
    conn: &mut PgConnection,
    names: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!("select name from auth.roles where name = any($1)", names)
        .fetch_all(conn)
        .await
}
