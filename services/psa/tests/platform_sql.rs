//! The platform template (`libs/psa-db/sql/platform.sql`): every registered
//! module's schema has its platform objects, guarded and granted as the
//! template says, and migrating again changes nothing — unless the template
//! changed, when it is applied again over the existing schema.

use psa_db::PlatformPart;
use psa_runtime::Module;
use psa_testkit::TestDb;
use sqlx::PgPool;

/// The objects a part brings: tables (and whether housekeeping trims them),
/// and functions the module's role may execute (`granted`) or not.
struct Objects {
    tables: &'static [&'static str],
    trimmed: bool,
    granted: &'static [&'static str],
    not_granted: &'static [&'static str],
}

const BASE: Objects = Objects {
    tables: &["_psa_platform", "_psa_retention"],
    trimmed: false,
    granted: &["current_tenant()", "housekeeping()"],
    not_granted: &[
        "isolate_by_tenant(text[])",
        "delete_after(name, name, interval)",
    ],
};

fn objects(part: PlatformPart) -> Objects {
    let table = |tables, trimmed| Objects {
        tables,
        trimmed,
        granted: &[],
        not_granted: &[],
    };
    match part {
        PlatformPart::Outbox => Objects {
            granted: &[
                "outbox_claim(integer)",
                "outbox_mark_sent(uuid[])",
                "outbox_defer(uuid[])",
                "outbox_stats()",
                "outbox_listening(interval)",
            ],
            not_granted: &["outbox_wake()"],
            ..table(&["outbox"], true)
        },
        PlatformPart::Inbox => table(&["inbox"], true),
        PlatformPart::IdempotencyKeys => table(&["idempotency_keys"], true),
        PlatformPart::NumberSequences => Objects {
            granted: &["next_number(uuid, text)"],
            ..table(&["number_sequences"], false)
        },
    }
}

async fn table_exists(db: &PgPool, schema: &str, table: &str) -> bool {
    sqlx::query_scalar("select to_regclass(format('%I.%I', $1::text, $2::text)) is not null")
        .bind(schema)
        .bind(table)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn may_execute(db: &PgPool, role: &str, function: &str) -> bool {
    sqlx::query_scalar("select has_function_privilege($1, $2, 'execute')")
        .bind(role)
        .bind(function)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_module_schema_has_the_platform_objects_it_lists() {
    let modules = psa::all_modules();
    let db = TestDb::create(&modules).await.unwrap();
    let admin = &db.admin;
    for m in &modules {
        let (schema, role) = (m.db.schema, m.db.role);
        let listed = m.db.platform;
        let present = std::iter::once(BASE).chain(listed.iter().map(|p| objects(*p)));
        for o in present {
            for t in o.tables {
                assert!(table_exists(admin, schema, t).await, "{schema}.{t}");
            }
            for f in o.granted {
                let f = format!("{schema}.{f}");
                assert!(may_execute(admin, role, &f).await, "{role} may run {f}");
            }
            for f in o.not_granted {
                let f = format!("{schema}.{f}");
                assert!(
                    !may_execute(admin, role, &f).await,
                    "{role} may not run {f}"
                );
            }
        }
        for part in PlatformPart::ALL.iter().filter(|p| !listed.contains(p)) {
            for t in objects(*part).tables {
                assert!(
                    !table_exists(admin, schema, t).await,
                    "{schema} does not list {part:?}, so it has no {t}"
                );
            }
        }

        let version: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select version from {schema}._psa_platform"
        )))
        .fetch_one(admin)
        .await
        .unwrap();
        assert_eq!(
            version,
            psa_db::platform::platform_version(&m.db).unwrap(),
            "{schema} records the template version it has"
        );

        // Every tenant table (platform or the module's) is isolated.
        let unguarded: Vec<String> = sqlx::query_scalar(
            "select c.relname::text from pg_class c
              where c.relnamespace = $1::regnamespace and c.relkind = 'r'
                and exists (select 1 from pg_attribute a
                             where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
                and not (c.relrowsecurity and c.relforcerowsecurity
                         and exists (select 1 from pg_policy p
                                      where p.polrelid = c.oid and p.polname = 'tenant_isolation'))",
        )
        .bind(schema)
        .fetch_all(admin)
        .await
        .unwrap();
        assert!(unguarded.is_empty(), "{schema}: {unguarded:?}");

        // The role uses the schema; it owns nothing in it (an owner could
        // turn row-level security off or redefine a security definer
        // function) and cannot touch the bookkeeping.
        let owned: Vec<String> = sqlx::query_scalar(
            "select relname::text from pg_class
              where relnamespace = $1::regnamespace and relowner = $2::regrole
             union all
             select proname::text from pg_proc
              where pronamespace = $1::regnamespace and proowner = $2::regrole",
        )
        .bind(schema)
        .bind(role)
        .fetch_all(admin)
        .await
        .unwrap();
        assert!(owned.is_empty(), "{role} owns {owned:?}");
        let bookkeeping = psa_db::platform::BOOKKEEPING_TABLES
            .into_iter()
            .filter(|t| *t != "_psa_outbox_relay" || listed.contains(&PlatformPart::Outbox));
        for t in bookkeeping.chain(["_sqlx_migrations"]) {
            let touches: bool = sqlx::query_scalar(
                "select has_table_privilege($1, format('%I.%I', $2::text, $3::text), 'select, insert, update, delete')",
            )
            .bind(role)
            .bind(schema)
            .bind(t)
            .fetch_one(admin)
            .await
            .unwrap();
            assert!(!touches, "{role} has no grant on {schema}.{t}");
        }

        // Housekeeping runs as the module's role and reports every platform
        // table it trims.
        let pool = db.module_pool(m).unwrap();
        let deleted = psa_db::housekeeping_once(&pool, schema).await.unwrap();
        for o in listed.iter().map(|p| objects(*p)).filter(|o| o.trimmed) {
            for t in o.tables {
                assert!(deleted[*t].is_u64(), "{schema}: {deleted}");
            }
        }
        pool.close().await;
    }
}

/// What a schema is made of, by object id: an object dropped and made
/// again, a changed definition, grant or policy, or a re-run migration
/// all show.
async fn catalog(db: &PgPool, modules: &[Module]) -> Vec<String> {
    let schemas: Vec<&str> = modules.iter().map(|m| m.db.schema).collect();
    let mut rows: Vec<String> = sqlx::query_scalar(
        "select format('table %s %s %s rls=%s/%s', c.oid, c.oid::regclass, c.relacl, c.relrowsecurity, c.relforcerowsecurity)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = any($1)
         union all
         select format('function %s %s %s %s', p.oid, p.oid::regprocedure, p.proacl, md5(pg_get_functiondef(p.oid)))
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = any($1)
         union all
         select format('policy %s %s on %s %s', p.oid, p.polname, p.polrelid::regclass, pg_get_expr(p.polqual, p.polrelid))
           from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = any($1)",
    )
    .bind(&schemas)
    .fetch_all(db)
    .await
    .unwrap();
    for schema in schemas {
        rows.extend(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "select format('{schema} platform %s %s', version, applied_at) from {schema}._psa_platform
                 union all
                 select format('{schema} retention %s %s %s', table_name, age_column, keep) from {schema}._psa_retention
                 union all
                 select format('{schema} migration %s %s', version, installed_on) from {schema}._sqlx_migrations"
            )))
            .fetch_all(db)
            .await
            .unwrap(),
        );
    }
    rows.sort();
    rows
}

async fn migrate(db: &TestDb, modules: &[Module]) {
    let mut conn = db.admin.acquire().await.unwrap();
    for m in modules {
        psa_db::migrate_module(&mut conn, &m.db, None)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn migrating_a_migrated_database_again_changes_nothing() {
    let modules = psa::all_modules();
    let db = TestDb::create(&modules).await.unwrap();
    let before = catalog(&db.admin, &modules).await;
    assert!(before.iter().any(|r| r.contains("crm.outbox_claim")));
    migrate(&db, &modules).await;
    assert_eq!(catalog(&db.admin, &modules).await, before);
}

/// A changed template (simulated by an outdated recorded version) is
/// applied again over the migrated schema — every statement of it is
/// idempotent — and leaves the same objects and data.
#[tokio::test]
async fn a_changed_template_is_applied_again_over_existing_objects() {
    let modules = psa::all_modules();
    let db = TestDb::create(&modules).await.unwrap();
    let tenant = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into crm.outbox (tenant_id, id, type, subject, payload) values ($1, $2, 'customer.created', 's', '{}')",
    )
    .bind(tenant)
    .bind(uuid::Uuid::now_v7())
    .execute(&db.admin)
    .await
    .unwrap();
    for m in &modules {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "update {}._psa_platform set version = 'outdated'",
            m.db.schema
        )))
        .execute(&db.admin)
        .await
        .unwrap();
    }

    migrate(&db, &modules).await;

    for m in &modules {
        let version: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select version from {}._psa_platform",
            m.db.schema
        )))
        .fetch_one(&db.admin)
        .await
        .unwrap();
        assert_eq!(version, psa_db::platform::platform_version(&m.db).unwrap());
    }
    let kept: i64 = sqlx::query_scalar("select count(*) from crm.outbox where tenant_id = $1")
        .bind(tenant)
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(kept, 1, "the outbox keeps its rows");
    // Still one policy per tenant table, and applying once more is a no-op.
    let policies: Vec<(String, i64)> = sqlx::query_as(
        "select polrelid::regclass::text, count(*) from pg_policy group by 1 having count(*) <> 1",
    )
    .fetch_all(&db.admin)
    .await
    .unwrap();
    assert!(policies.is_empty(), "{policies:?}");
    let before = catalog(&db.admin, &modules).await;
    migrate(&db, &modules).await;
    assert_eq!(catalog(&db.admin, &modules).await, before);
}

/// Migrations of several databases at once — parallel test binaries, or
/// deployments sharing one cluster — meet at the cluster's roles: each
/// creates or checks the same module role. All of them succeed, and the
/// role ends as it must be.
#[tokio::test]
async fn databases_migrated_at_once_share_the_cluster_s_roles() {
    use sqlx::{Connection, PgConnection};
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let role: &'static str = Box::leak(format!("psa_race_{}", &suffix[..12]).into_boxed_str());
    let module = psa_db::ModuleDb {
        role,
        ..psa_crm::DB
    };
    let admin_url = psa_testkit::admin_url();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    let names: Vec<String> = (0..6)
        .map(|i| format!("psa_race_{}_{i}", &suffix[..12]))
        .collect();
    for name in &names {
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap();
    let migrations = names.iter().map(|name| {
        let url = format!("{base}/{name}");
        async move {
            let mut conn = PgConnection::connect(&url).await?;
            psa_db::migrate_module(&mut conn, &module, None).await?;
            anyhow::Ok(())
        }
    });
    let results = futures::future::join_all(migrations).await;
    for name in &names {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database {name} with (force)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
    let plain: bool = sqlx::query_scalar(
        "select rolcanlogin and not (rolsuper or rolcreatedb or rolcreaterole or rolbypassrls) \
         from pg_roles where rolname = $1",
    )
    .bind(role)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("drop role {role}")))
        .execute(&mut admin)
        .await
        .unwrap();
    for r in results {
        r.unwrap();
    }
    assert!(plain, "the role logs in and may do nothing more");
}
