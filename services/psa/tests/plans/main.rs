//! Lists that stay fast at any size. On a database with a large tenant
//! (200,000 tickets, 20,000 customers, …) beside a small one, every list of
//! every module is explained as its module's role with the large tenant
//! set, with the SQL its handler runs (each module's `list_query` and the
//! keyset's conditions): every filter it offers, every sort in both
//! directions, the first page and one from the middle of the list, as the
//! plan for the values and as the generic plan a prepared statement falls
//! back to. Each must read the listed table along an index, without a
//! sequential scan, without sorting the tenant's rows (only lookups and
//! searches sort their few matches), and — executed — read at most
//! `MAX_READ` rows of it for a page: a page costs the same in a tenant of
//! any size.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use psa_kernel::{SortField, SortValue, SqlType, Store, Tx};
use psa_testkit::{TestDb, bulk};
use serde_json::{Value, json};
use sqlx::{Arguments, AssertSqlSafe, Execute, PgConnection, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

mod catalogue;

use catalogue::{List, Tried, lists};

const BIG: Uuid = Uuid::from_u128(0x0000_b16b_16b1_4000_8000_0000_0000_0001);
const SMALL: Uuid = Uuid::from_u128(0x0000_5a11_5a11_4000_8000_0000_0000_0002);

/// The most rows of the listed table one page may read (the page is 51):
/// far below any table's size in the large tenant.
const MAX_READ: f64 = 2_000.0;

/// Sorting this many rows is sorting a page (roles: the page of the
/// tenant's roles with the built-in ones), not the tenant's rows.
const PAGE_ROWS: f64 = 100.0;

/// The large tenant's row in the middle of `table` in `field` order: where
/// a page deep in the list starts.
async fn middle(
    admin: &PgPool,
    (schema, table): (&str, &str),
    field: SortField,
) -> anyhow::Result<(SortValue, Uuid)> {
    let scope = if table == "tenants" {
        "true"
    } else {
        "tenant_id = $1"
    };
    let sql = format!(
        "select {col}, id from {schema}.{table} where {scope} order by {col}, id \
         offset (select count(*) / 2 from {schema}.{table} where {scope}) limit 1",
        col = field.name
    );
    let q = || sqlx::query(AssertSqlSafe(sql.clone())).bind(BIG);
    let row = q().fetch_one(admin).await?;
    let id: Uuid = row.try_get(1)?;
    let value = match field.sql_type {
        SqlType::Uuid => SortValue::Uuid(row.try_get(0)?),
        SqlType::Text => SortValue::Text(row.try_get(0)?),
        SqlType::Timestamptz => SortValue::Time(row.try_get::<DateTime<Utc>, _>(0)?),
        SqlType::Date => SortValue::Date(row.try_get::<NaiveDate, _>(0)?),
        other => anyhow::bail!("no middle row for a {other:?} sort"),
    };
    Ok((value, id))
}

/// A cursor that the list issues after `at`, for the request `query`.
fn cursor_after(list: &List, query: &Value, at: (SortValue, Uuid)) -> anyhow::Result<String> {
    let mut one = query.clone();
    one["limit"] = json!("1");
    let (_, keyset) = (list.build)(&one)?;
    let page = keyset.page(vec![at.clone(), at], |r, _| r.clone());
    page.next_cursor.ok_or_else(|| anyhow::anyhow!("no cursor"))
}

/// The executed plan of one page, as the plan for its values or as the
/// generic plan of the prepared statement.
async fn explain(
    conn: &mut PgConnection,
    mut qb: QueryBuilder<Postgres>,
    generic: bool,
) -> anyhow::Result<Value> {
    let mut query = qb.build();
    let args = query
        .take_arguments()
        .map_err(|e| anyhow::anyhow!(e))?
        .unwrap_or_default();
    let sql = query.sql();
    let explain = "explain (analyze, verbose, format json)";
    let plan: Value = if generic {
        // EXECUTE takes no bound parameters: the values go in as literals
        // (untyped, so each takes its parameter's type).
        let values: Vec<String> = (1..=args.len())
            .map(|i| format!("quote_nullable(${i}::text)"))
            .collect();
        let values: String = sqlx::query_scalar_with(
            AssertSqlSafe(format!("select concat_ws(', ', {})", values.join(", "))),
            args,
        )
        // Not cached: the same text comes with other parameter types.
        .persistent(false)
        .fetch_one(&mut *conn)
        .await?;
        let plan = sqlx::raw_sql(AssertSqlSafe(format!(
            "set local plan_cache_mode = force_generic_plan; prepare list_page as {sql}; \
             {explain} execute list_page({values})",
            sql = sql.as_str()
        )))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        sqlx::raw_sql("deallocate list_page; set local plan_cache_mode = auto")
            .execute(&mut *conn)
            .await?;
        plan
    } else {
        sqlx::query_scalar_with(AssertSqlSafe(format!("{explain} {}", sql.as_str())), args)
            .fetch_one(&mut *conn)
            .await?
    };
    Ok(plan[0]["Plan"].clone())
}

fn reads(node: &Value, schema: &str, table: &str) -> bool {
    node["Relation Name"] == table && node["Schema"] == schema
        || node["Plans"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| reads(p, schema, table)))
}

/// What is wrong with `node` (and below) for a page of `table`.
fn faults(node: &Value, (schema, table): (&str, &str), tried: Tried, out: &mut Vec<String>) {
    let kind = node["Node Type"].as_str().unwrap_or_default();
    let num = |k: &str| node[k].as_f64().unwrap_or(0.0);
    if node["Relation Name"] == table && node["Schema"] == schema {
        if kind == "Seq Scan" {
            out.push(format!("Seq Scan on {table}"));
        }
        let read = (num("Actual Rows")
            + num("Rows Removed by Filter")
            + num("Rows Removed by Index Recheck"))
            * num("Actual Loops").max(1.0);
        if read > MAX_READ {
            out.push(format!(
                "{kind} of {table} read {read} rows ({})",
                node["Index Name"]
            ));
        }
    }
    if kind.ends_with("Sort") && reads(node, schema, table) {
        let sorted = node["Plans"][0]["Actual Rows"].as_f64().unwrap_or(f64::MAX);
        let bound = if tried == Tried::SortsMatches {
            MAX_READ
        } else {
            PAGE_ROWS
        };
        if sorted > bound {
            out.push(format!("{kind} of {sorted} rows of {table}"));
        }
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        faults(child, (schema, table), tried, out);
    }
}

/// The indexes a plan reads, for the report.
fn indexes(node: &Value, out: &mut Vec<String>) {
    if let Some(name) = node["Index Name"].as_str() {
        out.push(name.to_owned());
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        indexes(child, out);
    }
}

/// The requests a list is tried with: each of its filters, with every
/// sort both ways where it says so.
fn requests(list: &List) -> Vec<(Value, Tried)> {
    let mut out = vec![];
    for (filter, tried) in &list.requests {
        if ![Tried::EverySort, Tried::PerValue].contains(tried) {
            out.push((filter.clone(), *tried));
            continue;
        }
        for field in list.sorts {
            for sort in [field.name.to_owned(), format!("-{}", field.name)] {
                let mut q = filter.clone();
                q["sort"] = json!(sort);
                out.push((q, *tried));
            }
        }
    }
    out
}

/// The request's parameters as a query string (without the cursor), for the report.
fn query_string(q: &Value) -> String {
    let params = q.as_object().into_iter().flatten();
    let shown = params.filter(|(k, _)| *k != "cursor");
    shown
        .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn every_list_reads_a_page_along_an_index_in_a_large_tenant() {
    let modules = psa::all_modules();
    let db = TestDb::create(&modules).await.unwrap();
    let admin = &db.admin;
    let tables = [
        "tickets.tickets",
        "tickets.comments",
        "tickets.time_entries",
        "crm.customers",
        "crm.contacts",
        "crm.sites",
        "crm.contracts",
        "auth.tenants",
        "auth.users",
        "auth.service_accounts",
        "auth.api_keys",
        "auth.roles",
        "auth.audit_events",
        "gateway.audit_log",
    ];
    bulk::without_indexes(admin, &tables, async {
        bulk::tenants(admin, 10_000).await?;
        for (tenant, scale) in [(BIG, 40), (SMALL, 1)] {
            bulk::tenant(admin, tenant).await?;
            bulk::tickets(admin, tenant, 5_000 * scale).await?;
            bulk::ticket_work(admin, tenant, 500 * scale, 5).await?;
            bulk::crm(admin, tenant, 500 * scale).await?;
            bulk::auth(admin, tenant, 125 * scale).await?;
            bulk::audit_log(admin, tenant, 2_500 * scale).await?;
        }
        Ok(())
    })
    .await
    .unwrap();
    sqlx::raw_sql("analyze").execute(admin).await.unwrap();

    // Two customers and a ticket of the large tenant, with many rows under them.
    let customers: Vec<Uuid> = sqlx::query_scalar(
        "select customer_id from tickets.tickets where tenant_id = $1 group by customer_id \
         order by count(*) desc, customer_id limit 2",
    )
    .bind(BIG)
    .fetch_all(admin)
    .await
    .unwrap();
    let ticket: Uuid = sqlx::query_scalar(
        "select ticket_id from tickets.comments where tenant_id = $1 group by ticket_id \
         order by count(*) desc, ticket_id limit 1",
    )
    .bind(BIG)
    .fetch_one(admin)
    .await
    .unwrap();
    // Changed in the last percent of the tenant's history.
    let since: DateTime<Utc> = sqlx::query_scalar(
        "select percentile_disc(0.99) within group (order by updated_at) from tickets.tickets \
         where tenant_id = $1",
    )
    .bind(BIG)
    .fetch_one(admin)
    .await
    .unwrap();
    let since = since.to_rfc3339();

    let mut stores = HashMap::new();
    for m in &modules {
        stores.insert(m.name, Store::new(db.module_pool(m).unwrap(), m.db.schema));
    }
    let mut middles: HashMap<_, (SortValue, Uuid)> = HashMap::new();
    let mut failures = Vec::new();
    let mut explained = 0;
    for list in lists([customers[0], customers[1]], ticket, &since) {
        for (first, tried) in requests(&list) {
            let (_, keyset) = (list.build)(&first).unwrap();
            let key = (list.table, keyset.field.name);
            let at = match middles.get(&key) {
                Some(at) => at.clone(),
                None => {
                    let at = middle(admin, list.table, keyset.field).await.unwrap();
                    middles.insert(key, at.clone());
                    at
                }
            };
            let mut pages = vec![("first page", first.clone())];
            if tried != Tried::PerValue {
                let mut deep = first;
                deep["cursor"] = json!(cursor_after(&list, &deep, at).unwrap());
                pages.push(("middle page", deep));
            }
            for (page, q) in pages {
                for generic in [false, true] {
                    let (qb, keyset) = (list.build)(&q).unwrap();
                    let qb = keyset.query(qb).unwrap();
                    let mut tx = Tx::for_tenant(&stores[list.module], BIG).await.unwrap();
                    let plan = explain(&mut tx, qb, generic).await.unwrap();
                    explained += 1;
                    let mut found = Vec::new();
                    faults(&plan, list.table, tried, &mut found);
                    if !found.is_empty() {
                        let mut used = Vec::new();
                        indexes(&plan, &mut used);
                        let plan_kind = if generic { "generic" } else { "custom" };
                        failures.push(format!(
                            "GET {}?{} ({page}, {plan_kind} plan): {} [indexes: {}]",
                            list.path,
                            query_string(&q),
                            found.join("; "),
                            used.join(", "),
                        ));
                    }
                }
            }
        }
    }
    assert!(explained > 400, "{explained} pages explained");
    assert!(
        failures.is_empty(),
        "{} of {explained} pages do not read along an index:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
