//! Platform-wide checks: the merged OpenAPI document and the GraphQL schema
//! are the checked-in ones,
//! and every module's tables and roles keep tenants apart.

use psa_testkit::TestApp;

/// `openapi/psa.json` must be what the code generates. To update it:
/// `cargo run -q -p psa -- openapi > openapi/psa.json`
#[test]
fn openapi_document_matches_the_checked_in_copy() {
    let generated = psa_runtime::openapi::render(&psa::all_modules());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/psa.json");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "openapi/psa.json is out of date; run: cargo run -q -p psa -- openapi > openapi/psa.json"
    );
}

/// `openapi/schema.graphql` must be the schema `/graphql` serves. To
/// update it: `cargo run -q -p psa -- graphql-schema > openapi/schema.graphql`
#[test]
fn graphql_schema_matches_the_checked_in_copy() {
    let generated = psa_gateway::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "openapi/schema.graphql is out of date; run: cargo run -q -p psa -- graphql-schema > openapi/schema.graphql"
    );
}

/// Modules name their schemas independently; the merged document keeps
/// one schema per name, so two modules must never give one name two
/// different schemas (the second would silently document the first's).
#[test]
fn no_two_modules_give_one_schema_name_two_schemas() {
    let mut seen: std::collections::BTreeMap<String, (&str, serde_json::Value)> =
        Default::default();
    let mut clashes = Vec::new();
    for m in psa::all_modules() {
        let doc = serde_json::to_value((m.openapi)()).unwrap();
        let Some(schemas) = doc["components"]["schemas"].as_object() else {
            continue;
        };
        for (name, schema) in schemas {
            match seen.get(name) {
                Some((other, s)) if s != schema => {
                    clashes.push(format!("{name}: {other} and {}", m.name))
                }
                Some(_) => {}
                None => {
                    seen.insert(name.clone(), (m.name, schema.clone()));
                }
            }
        }
    }
    assert!(clashes.is_empty(), "one name, two schemas: {clashes:?}");
}

#[tokio::test]
async fn the_served_document_and_docs_page_match() {
    let doc: serde_json::Value =
        serde_json::from_str(&psa_runtime::openapi::render(&psa::all_modules())).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/customers",
        "/v1/customers/{id}",
        "/v1/contacts",
        "/v1/sites",
        "/v1/contracts",
        "/v1/contracts/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let app = TestApp::spawn(&psa::all_modules()).await.unwrap();
    let anonymous = app.anonymous();
    let served = anonymous.get("/openapi.json").await;
    assert_eq!(served.body, doc, "/openapi.json serves the merged document");
    let docs = anonymous.get("/docs/").await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.text.to_lowercase().contains("swagger"),
        "the docs page is served from the binary"
    );
}

/// Fails when any table with a tenant_id lacks enabled and forced RLS with a
/// policy, or when a module's role could bypass it.
#[tokio::test]
async fn catalog_every_tenant_table_is_guarded_and_roles_are_plain() {
    let app = TestApp::spawn(&psa::all_modules()).await.unwrap();
    let unguarded: Vec<String> = sqlx::query_scalar(
        "select format('%s.%s (enabled=%s forced=%s policies=%s)', n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
                (select count(*) from pg_policy p where p.polrelid = c.oid))
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p')
           and n.nspname not in ('pg_catalog', 'information_schema')
           and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
           and not (c.relrowsecurity and c.relforcerowsecurity
                    and exists (select 1 from pg_policy p where p.polrelid = c.oid))",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    assert!(
        unguarded.is_empty(),
        "tables without enforced RLS: {unguarded:?}"
    );

    for m in psa::all_modules() {
        let guarded: i64 = sqlx::query_scalar(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and c.relkind = 'r' and c.relforcerowsecurity",
        )
        .bind(m.db.schema)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
        assert!(guarded > 0, "the check above saw {}'s tables", m.name);

        let (superuser, bypass, owns): (bool, bool, i64) = sqlx::query_as(
            "select r.rolsuper, r.rolbypassrls,
                    (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where n.nspname = $2 and c.relowner = r.oid)
             from pg_roles r where r.rolname = $1",
        )
        .bind(m.db.role)
        .bind(m.db.schema)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
        assert!(
            !superuser && !bypass,
            "{} must be neither superuser nor BYPASSRLS",
            m.db.role
        );
        assert_eq!(
            owns, 0,
            "{} must not own its tables (it could turn RLS off)",
            m.db.role
        );
    }
}
