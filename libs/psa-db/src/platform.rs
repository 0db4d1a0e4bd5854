//! The platform objects of a module schema — `current_tenant()`, the
//! tenant-isolation helper, housekeeping, and the outbox, inbox and
//! idempotency-key tables with their narrow cross-tenant functions — come
//! from one template, `sql/platform.sql`, applied before the module's own
//! migrations. Its text, after substitution, is versioned by hash in
//! `<schema>._psa_platform`: applied when new or changed, skipped otherwise.

use sha2::{Digest, Sha256};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::{DbError, ModuleDb};

/// The template, with `{{schema}}` and `{{role}}` placeholders and
/// `-- @part <name>` sections.
pub const TEMPLATE: &str = include_str!("../sql/platform.sql");

/// An optional part of the template; a module lists the parts it uses
/// (the base — `current_tenant()`, `isolate_by_tenant(…)`, `housekeeping()`
/// — goes to every schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformPart {
    /// `outbox` and the relay's `outbox_claim/_mark_sent/_defer/_stats`,
    /// and the wake-up on commit (`outbox_listening`, `NOTIFY <schema>_outbox`).
    Outbox,
    /// `inbox`: the events a consumer handled.
    Inbox,
    /// `idempotency_keys`: stored responses of POSTs with `Idempotency-Key`.
    IdempotencyKeys,
    /// `number_sequences`: per-tenant counters behind readable numbers.
    NumberSequences,
}

impl PlatformPart {
    pub const ALL: [PlatformPart; 4] = [
        Self::Outbox,
        Self::Inbox,
        Self::IdempotencyKeys,
        Self::NumberSequences,
    ];

    /// Its section's name in the template (`-- @part <name>`).
    pub fn section(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Inbox => "inbox",
            Self::IdempotencyKeys => "idempotency_keys",
            Self::NumberSequences => "number_sequences",
        }
    }
}

/// The bookkeeping table the template keeps its version in.
const VERSION_TABLE: &str = "_psa_platform";

/// The template's bookkeeping tables: the migrating role's alone, no grant
/// to the module's role (a part's exist only in the schemas listing it).
pub const BOOKKEEPING_TABLES: [&str; 3] = [VERSION_TABLE, "_psa_retention", "_psa_outbox_relay"];

/// The template's text for one module: its schema and role put in, only
/// the sections of the parts it lists.
pub fn platform_sql(db: &ModuleDb) -> Result<String, DbError> {
    let schema = identifier(db.schema)?;
    let role = identifier(db.role)?;
    let mut sql = String::with_capacity(TEMPLATE.len());
    let mut included = true;
    for line in TEMPLATE.lines() {
        if let Some(section) = line.strip_prefix("-- @part ") {
            included = db.platform.iter().any(|p| p.section() == section.trim());
        }
        if included {
            sql.push_str(&line.replace("{{schema}}", schema).replace("{{role}}", role));
            sql.push('\n');
        }
    }
    Ok(sql)
}

/// The version a schema's platform objects are at: the hash of their text.
pub fn platform_version(db: &ModuleDb) -> Result<String, DbError> {
    let digest = Sha256::digest(platform_sql(db)?.as_bytes());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The schema and role names go into SQL text unquoted: only plain
/// lower-case identifiers are accepted (they need no quoting and cannot
/// smuggle SQL in).
fn identifier(name: &'static str) -> Result<&'static str, DbError> {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63;
    if plain {
        Ok(name)
    } else {
        Err(DbError::Identifier(name))
    }
}

/// Applies the template to the module's schema unless this version is
/// there already; all or nothing. Returns whether it was applied.
pub(crate) async fn apply(admin: &mut PgConnection, db: &ModuleDb) -> Result<bool, DbError> {
    let sql = platform_sql(db)?;
    let version = platform_version(db)?;
    let schema = db.schema;
    let table = format!("{schema}.{VERSION_TABLE}");
    let mut tx = admin.begin().await?;
    let has_table: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(&table)
        .fetch_one(&mut *tx)
        .await?;
    if has_table {
        let applied: Option<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("select version from {table}")))
                .fetch_optional(&mut *tx)
                .await?;
        if applied.as_deref() == Some(version.as_str()) {
            return Ok(false);
        }
    }
    // Applied again, it meets what exists ("already exists, skipping"):
    // not news worth a log line per object.
    sqlx::query("set local client_min_messages = warning")
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    sqlx::query(AssertSqlSafe(format!(
        "insert into {table} (version) values ($1)
         on conflict (only_row) do update set version = excluded.version, applied_at = now()"
    )))
    .bind(&version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Refuses a schema whose applied migrations are not the module's (edited
/// or removed since): checked before the template touches it, with the
/// error `Migrator::run` would give.
pub(crate) async fn check_history(admin: &mut PgConnection, db: &ModuleDb) -> Result<(), DbError> {
    let migrator: &Migrator = db.migrator;
    let has_table: bool = sqlx::query_scalar(
        "select to_regclass(format('%I._sqlx_migrations', $1::text)) is not null",
    )
    .bind(db.schema)
    .fetch_one(&mut *admin)
    .await?;
    if !has_table {
        return Ok(());
    }
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(format!(
        "select version, checksum from {}._sqlx_migrations where success order by version",
        identifier(db.schema)?
    )))
    .fetch_all(&mut *admin)
    .await?;
    for (version, checksum) in applied {
        let known = migrator
            .iter()
            .find(|m| m.version == version && !m.migration_type.is_down_migration());
        let error = match known {
            None if migrator.ignore_missing => continue,
            None => MigrateError::VersionMissing(version),
            Some(m) if *m.checksum != *checksum => MigrateError::VersionMismatch(version),
            Some(_) => continue,
        };
        return Err(DbError::Migrate {
            schema: db.schema,
            source: error,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static NO_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| Migrator::with_migrations(vec![]));

    fn db(schema: &'static str, platform: &'static [PlatformPart]) -> ModuleDb {
        ModuleDb {
            module: "m",
            schema,
            role: "psa_m",
            migrator: &NO_MIGRATIONS,
            platform,
        }
    }

    #[test]
    fn every_part_has_its_section() {
        for part in PlatformPart::ALL {
            let marker = format!("-- @part {}\n", part.section());
            assert_eq!(TEMPLATE.matches(&marker).count(), 1, "{marker}");
        }
    }

    #[test]
    fn only_the_listed_parts_are_rendered_with_names_put_in() {
        let sql = platform_sql(&db("billing", &[PlatformPart::Outbox])).unwrap();
        assert!(sql.contains("create or replace function billing.current_tenant()"));
        assert!(sql.contains("create table if not exists billing.outbox"));
        assert!(sql.contains("to psa_m;"));
        assert!(!sql.contains("billing.inbox"));
        assert!(!sql.contains("billing.idempotency_keys"));
        assert!(!sql.contains("{{"), "every placeholder is replaced");

        let base = platform_sql(&db("billing", &[])).unwrap();
        assert!(base.contains("billing.housekeeping()"));
        assert!(!base.contains("billing.outbox"));
    }

    #[test]
    fn the_version_follows_the_text() {
        let a = platform_version(&db("billing", &[PlatformPart::Outbox])).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(
            a,
            platform_version(&db("billing", &[PlatformPart::Outbox])).unwrap()
        );
        assert_ne!(a, platform_version(&db("billing", &[])).unwrap());
        assert_ne!(
            a,
            platform_version(&db("assets", &[PlatformPart::Outbox])).unwrap()
        );
    }

    #[test]
    fn names_that_are_not_plain_identifiers_are_refused() {
        for bad in ["", "Crm", "crm;drop", "crm.x", "1crm", "cr\"m", "crm x"] {
            assert!(
                matches!(platform_sql(&db(bad, &[])), Err(DbError::Identifier(_))),
                "{bad:?}"
            );
        }
        for good in ["crm", "time_2", "_x"] {
            assert!(platform_sql(&db(good, &[])).is_ok(), "{good:?}");
        }
    }
}
