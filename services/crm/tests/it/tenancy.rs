use psa_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::json;

use crate::{ALL, app, caller};

#[tokio::test]
async fn another_tenant_sees_and_touches_nothing() {
    let app = app().await;
    let a = caller(&app);
    let b = caller(&app);
    let cust = fixtures::customer(&a, "A's customer").await;
    let id = cust["id"].as_str().unwrap();
    let contract = fixtures::contract(&a, id).await;
    let path = format!("/v1/customers/{id}");

    b.get(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    b.patch(&path, json!({"name": "pwned"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    b.delete(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    b.get(&format!(
        "/v1/contracts/{}",
        contract["id"].as_str().unwrap()
    ))
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    b.get(&format!("{path}/contacts"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert!(b.get("/v1/customers").await.items().is_empty());
    assert!(
        b.get(&format!("/v1/contracts?customer_id={id}"))
            .await
            .items()
            .is_empty()
    );
    // B cannot attach its rows to A's customer either.
    b.post("/v1/contacts", json!({"customer_id": id, "name": "x"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // The same customer number is free in another tenant.
    b.create(
        "/v1/customers",
        json!({"name": "B's", "customer_number": cust["customer_number"]}),
    )
    .await;

    let still = a.get(&path).await;
    assert_eq!(still["name"], "A's customer");
    assert_eq!(still["version"], 1);
}

/// Row-level security, not the query, keeps tenants apart: an unfiltered
/// query as the module's role sees only the transaction's tenant.
#[tokio::test]
async fn unfiltered_queries_see_only_the_current_tenant() {
    let app = app().await;
    let (ta, a) = app.new_tenant(ALL);
    let (tb, b) = app.new_tenant(ALL);
    for i in 0..3 {
        fixtures::customer(&a, &format!("a{i}")).await;
    }
    fixtures::customer(&b, "b0").await;

    let pool = app.db.module_pool(&psa_crm::module()).unwrap();
    let mut tx = psa_db::begin_tenant(&pool, ta).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("select name from crm.customers order by name")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, ["a0", "a1", "a2"]);
    // Writing a row for another tenant is refused by the policy's check.
    let err = sqlx::query("insert into crm.customers (tenant_id, id, customer_number, name, status) values ($1, $2, 'X', 'x', 'active')")
        .bind(tb)
        .bind(uuid::Uuid::now_v7())
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // With no tenant set, nothing at all.
    let none: i64 = sqlx::query_scalar("select count(*) from crm.customers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
    let total: i64 = sqlx::query_scalar("select count(*) from crm.customers")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(total, 4, "the superuser sees all four");
}

/// Constraint violations a handler did not foresee (races) map to clear
/// problems: 409 for unique and foreign keys, never a 500.
#[tokio::test]
async fn unforeseen_constraint_violations_are_conflicts() {
    let app = app().await;
    let tenant = uuid::Uuid::now_v7();
    let insert = |number: &'static str| {
        sqlx::query("insert into crm.customers (tenant_id, id, customer_number, name, status) values ($1, $2, $3, 'x', 'active')")
            .bind(tenant)
            .bind(uuid::Uuid::now_v7())
            .bind(number)
    };
    insert("C-1").execute(&app.db.admin).await.unwrap();
    let dup = insert("C-1").execute(&app.db.admin).await.unwrap_err();
    assert_eq!(psa_http::Problem::from(dup).status, StatusCode::CONFLICT);
    let orphan = sqlx::query(
        "insert into crm.contacts (tenant_id, id, customer_id, name) values ($1, $2, $3, 'x')",
    )
    .bind(tenant)
    .bind(uuid::Uuid::now_v7())
    .bind(uuid::Uuid::now_v7())
    .execute(&app.db.admin)
    .await
    .unwrap_err();
    assert_eq!(psa_http::Problem::from(orphan).status, StatusCode::CONFLICT);
}
