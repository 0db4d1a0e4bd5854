//! Postgres for every module: a pool per module role, the module's schema and
//! least-privilege role, per-schema migrations, and the tenant transaction
//! that row-level security keys on.
//!
//! Every tenant-owned table carries `tenant_id`, has row-level security
//! enabled and forced, and a policy comparing `tenant_id` with
//! `current_setting('app.tenant_id', true)`: with no tenant set it matches
//! nothing. Modules connect as roles that are neither superuser nor BYPASSRLS
//! and hold only DML grants on their own schema.
//!
//! The platform objects every schema needs (`current_tenant()`, outbox,
//! inbox, idempotency keys, housekeeping) come from one template, applied
//! before a module's own migrations: see [`platform`].

pub mod platform;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Postgres, Transaction};
use uuid::Uuid;

pub use platform::PlatformPart;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Used only by `psa migrate` and test setup: may create databases, roles, schemas.
    pub admin_url: String,
    /// Where modules connect; the user part is replaced by the module's role.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    /// Passwords for the module roles, by module name. Leave empty under trust auth.
    #[serde(default)]
    pub role_passwords: BTreeMap<String, String>,
}

/// What the platform needs to know of one module's database side.
#[derive(Debug, Clone, Copy)]
pub struct ModuleDb {
    pub module: &'static str,
    pub schema: &'static str,
    pub role: &'static str,
    pub migrator: &'static Migrator,
    /// The optional parts of the platform template the module uses.
    pub platform: &'static [PlatformPart],
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database url: {0}")]
    Url(#[source] sqlx::Error),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    // The cause is the source: shown by `{:#}` and error reports, not twice.
    #[error("migrating schema {schema}")]
    Migrate {
        schema: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("{0:?} is not a plain lower-case SQL identifier (a-z, 0-9, _)")]
    Identifier(&'static str),
}

/// Connects a module's pool as its own role. Connections are made lazily, so
/// a module starts (and answers /readyz with 503) while Postgres is away.
pub fn module_pool(cfg: &DatabaseConfig, module: &ModuleDb) -> Result<PgPool, DbError> {
    let mut opts = PgConnectOptions::from_str(&cfg.url)
        .map_err(DbError::Url)?
        .username(module.role)
        .application_name(&format!("psa-{}", module.module));
    if let Some(pw) = cfg.role_passwords.get(module.module) {
        opts = opts.password(pw);
    }
    Ok(pool_options(cfg).connect_lazy_with(opts))
}

fn pool_options(cfg: &DatabaseConfig) -> PoolOptions<Postgres> {
    PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
        .test_before_acquire(true)
}

/// Starts a transaction scoped to one tenant: every statement in it sees and
/// writes only that tenant's rows.
pub async fn begin_tenant(
    pool: &PgPool,
    tenant_id: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_tenant(&mut tx, tenant_id).await?;
    Ok(tx)
}

/// Scopes the current transaction to a tenant (for connections not from `begin_tenant`).
pub async fn set_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('app.tenant_id', $1, true)")
        .bind(tenant_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates the database named in `url` if it does not exist, connecting to
/// the server's `postgres` database with the admin URL.
pub async fn ensure_database(admin_url: &str) -> Result<(), DbError> {
    let opts = PgConnectOptions::from_str(admin_url).map_err(DbError::Url)?;
    let name = opts.get_database().unwrap_or("psa").to_owned();
    let mut conn = PgConnection::connect_with(&opts.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let sql: String = sqlx::query_scalar("select format('create database %I', $1::text)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
        sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
    }
    Ok(())
}

/// Makes a module's role and schema (idempotent), applies the platform
/// template to the schema when it changed, then the module's migrations.
/// Runs as the admin connection; safe to run from several processes at once.
pub async fn migrate_module(
    admin: &mut PgConnection,
    module: &ModuleDb,
    password: Option<&str>,
) -> Result<(), DbError> {
    // Serializes processes migrating this database (advisory locks hold
    // within one database; roles, shared by all, are set up race-free below).
    sqlx::query("select pg_advisory_lock(hashtextextended('psa-db-setup', 0))")
        .execute(&mut *admin)
        .await?;
    let result = setup_and_migrate(admin, module, password).await;
    sqlx::query("select pg_advisory_unlock(hashtextextended('psa-db-setup', 0))")
        .execute(&mut *admin)
        .await?;
    result
}

async fn setup_and_migrate(
    admin: &mut PgConnection,
    module: &ModuleDb,
    password: Option<&str>,
) -> Result<(), DbError> {
    let role = module.role;
    let schema = module.schema;
    // Roles are the cluster's, shared by every database, and the advisory
    // lock above holds only within this one: migrations of other databases
    // may create or alter the role at the same moment. The role is altered
    // only when it differs, and a collision with another creator is tried
    // again (then the role exists and is as it should be).
    retry_catalog_change(admin, async |admin| {
        ensure_role(admin, role, password).await
    })
    .await?;
    exec_formatted(admin, "create schema if not exists %I", &[schema]).await?;
    exec_formatted(admin, "revoke all on schema %I from public", &[schema]).await?;
    exec_formatted(admin, "grant usage on schema %I to %I", &[schema, role]).await?;

    // A schema migrated by other migrations is refused before the template
    // touches it.
    platform::check_history(admin, module).await?;
    platform::apply(admin, module).await?;

    sqlx::query(AssertSqlSafe(format!(
        "set search_path to \"{}\"",
        schema.replace('"', "")
    )))
    .execute(&mut *admin)
    .await?;
    let migrated = module.migrator.run(&mut *admin).await;
    sqlx::query("reset search_path")
        .execute(&mut *admin)
        .await?;
    migrated.map_err(|source| DbError::Migrate { schema, source })?;

    exec_formatted(
        admin,
        "grant select, insert, update, delete on all tables in schema %I to %I",
        &[schema, role],
    )
    .await?;
    exec_formatted(
        admin,
        "grant usage, select on all sequences in schema %I to %I",
        &[schema, role],
    )
    .await?;
    // The bookkeeping tables are the migrating role's alone.
    for table in std::iter::once("_sqlx_migrations").chain(platform::BOOKKEEPING_TABLES) {
        let exists: bool = sqlx::query_scalar(
            "select to_regclass(format('%I.%I', $1::text, $2::text)) is not null",
        )
        .bind(schema)
        .bind(table)
        .fetch_one(&mut *admin)
        .await?;
        if exists {
            exec_formatted(admin, "revoke all on %I.%I from %I", &[schema, table, role]).await?;
        }
    }
    Ok(())
}

/// How often a role's setup is tried when other databases' migrations
/// change the same role at the same moment.
const ROLE_ATTEMPTS: u64 = 10;

/// A change of a shared catalog that collided with another session's: a
/// concurrent `CREATE ROLE` (duplicate object or key) or update of the
/// same role's row ("tuple concurrently updated").
fn concurrent_catalog_change(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|d| match d.code().as_deref() {
            Some("42710" | "23505") => true,
            Some("XX000") => d.message().contains("concurrently"),
            _ => false,
        })
}

/// The module's role as it must be: able to log in and nothing more
/// (altered only when it is not, so that concurrent migrations of other
/// databases rarely touch its row), with `password` when one is given.
async fn ensure_role(
    admin: &mut PgConnection,
    role: &str,
    password: Option<&str>,
) -> Result<(), sqlx::Error> {
    let plain: Option<bool> = sqlx::query_scalar(
        "select rolcanlogin and not (rolsuper or rolcreatedb or rolcreaterole or rolbypassrls \
         or rolreplication) from pg_roles where rolname = $1",
    )
    .bind(role)
    .fetch_optional(&mut *admin)
    .await?;
    match plain {
        None => exec_formatted(admin, "create role %I login", &[role]).await?,
        Some(false) => {
            // Enforced on every run, so a role altered by hand is put right.
            exec_formatted(
                admin,
                "alter role %I login nosuperuser nocreatedb nocreaterole nobypassrls noreplication",
                &[role],
            )
            .await?
        }
        Some(true) => {}
    }
    if let Some(pw) = password {
        exec_formatted(admin, "alter role %I password %L", &[role, pw]).await?;
    }
    Ok(())
}

/// Sets a module role's password (where the server asks for passwords).
pub async fn set_role_password(
    admin: &mut PgConnection,
    role: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    retry_catalog_change(admin, async |admin| {
        exec_formatted(admin, "alter role %I password %L", &[role, password]).await
    })
    .await
}

/// Runs `change` of a role (cluster-wide, so not serialized by a database's
/// advisory lock) again when it collided with another session's change of
/// the same role.
async fn retry_catalog_change(
    admin: &mut PgConnection,
    mut change: impl AsyncFnMut(&mut PgConnection) -> Result<(), sqlx::Error>,
) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        match change(admin).await {
            Err(e) if attempt < ROLE_ATTEMPTS && concurrent_catalog_change(&e) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
            }
            result => return result,
        }
    }
}

/// Runs DDL built by Postgres' own `format()`, so identifiers and literals are quoted by the server.
async fn exec_formatted(
    conn: &mut PgConnection,
    template: &str,
    args: &[&str],
) -> Result<(), sqlx::Error> {
    let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(format!(
        "select format($1{})",
        (0..args.len())
            .map(|i| format!(", ${}::text", i + 2))
            .collect::<String>()
    )))
    .bind(template);
    for a in args {
        q = q.bind(*a);
    }
    let sql = q.fetch_one(&mut *conn).await?;
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// A Postgres error's constraint name, for mapping known violations to 409/422.
pub fn constraint(err: &sqlx::Error) -> Option<&str> {
    err.as_database_error().and_then(|e| e.constraint())
}

/// One housekeeping round of a module's schema: `<schema>.housekeeping()`
/// (from the platform template) deletes rows past their use across tenants
/// as `<schema>._psa_retention` lists them (expired idempotency keys,
/// long-published outbox rows, a module's own); returns how many it
/// deleted, per table.
pub async fn housekeeping_once(
    pool: &PgPool,
    schema: &'static str,
) -> Result<serde_json::Value, sqlx::Error> {
    sqlx::query_scalar(AssertSqlSafe(format!("select {schema}.housekeeping()")))
        .fetch_one(pool)
        .await
}
