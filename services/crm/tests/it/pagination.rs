use std::collections::BTreeSet;

use psa_testkit::{Client, fixtures};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{app, caller};

fn names(page: &psa_testkit::TestResponse) -> Vec<String> {
    page.items()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn page(c: &Client, query: &str) -> (Vec<String>, Option<String>) {
    let page = c
        .get(&format!("/v1/customers?{query}"))
        .await
        .assert_status(StatusCode::OK);
    (names(&page), page.next_cursor().map(str::to_owned))
}

#[tokio::test]
async fn pages_are_complete_and_stable_under_inserts() {
    let app = app().await;
    let c = caller(&app);
    for i in 0..120 {
        fixtures::customer(&c, &format!("cust-{i:03}")).await;
    }
    for sort in [
        "created_at",
        "name",
        "-name",
        "-updated_at",
        "customer_number",
    ] {
        let mut seen = Vec::new();
        let mut pages = c.pages(&format!("/v1/customers?limit=50&sort={sort}"));
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += 1;
            seen.extend(names(&page));
            // Rows inserted between pages must not shift or repeat the originals.
            if count == 1 && sort == "created_at" {
                for j in 0..5 {
                    fixtures::customer(&c, &format!("late-{j}")).await;
                }
            }
        }
        let originals: Vec<&String> = seen.iter().filter(|n| n.starts_with("cust-")).collect();
        let unique: BTreeSet<&String> = originals.iter().copied().collect();
        assert_eq!(originals.len(), 120, "sort {sort}: every original row once");
        assert_eq!(unique.len(), 120, "sort {sort}: no repeats");
        assert_eq!(
            seen.len(),
            BTreeSet::from_iter(seen.iter()).len(),
            "sort {sort}: no repeats at all"
        );
        if sort == "name" {
            let mut sorted = seen.clone();
            sorted.sort();
            assert_eq!(seen, sorted);
        }
        if sort == "created_at" {
            assert_eq!(count, 3, "125 rows by 50");
        }
    }
}

#[tokio::test]
async fn a_cursor_is_bound_to_its_sort_and_updated_since_filters() {
    let app = app().await;
    let c = caller(&app);
    for i in 0..3 {
        fixtures::customer(&c, &format!("c{i}")).await;
    }
    let (_, cursor) = page(&c, "limit=1&sort=name").await;
    c.get(&format!(
        "/v1/customers?limit=1&sort=created_at&cursor={}",
        cursor.unwrap()
    ))
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid_cursor");

    let future = "2999-01-01T00:00:00Z";
    let (names, _) = page(&c, &format!("updated_since={future}")).await;
    assert!(names.is_empty());
    let (names, _) = page(&c, "updated_since=2000-01-01T00:00:00Z").await;
    assert_eq!(names.len(), 3);
}

/// Two customers with `rows` contacts, sites and contracts each.
async fn customers_with_rows(c: &Client, rows: usize) -> [Uuid; 2] {
    let mut customers = [Uuid::nil(); 2];
    for (customer, name) in customers.iter_mut().zip(["Contoso", "Initech"]) {
        *customer = psa_testkit::id_of(&fixtures::customer(c, name).await);
        for i in 0..rows {
            fixtures::contact(c, *customer, &format!("contact {i}")).await;
            c.create(
                "/v1/sites",
                serde_json::json!({"customer_id": customer, "name": format!("site {i}")}),
            )
            .await;
            fixtures::contract(c, *customer).await;
        }
    }
    customers
}

#[tokio::test]
async fn a_customers_sub_lists_page_with_cursors_and_404_other_customers() {
    let app = app().await;
    let c = caller(&app);
    let id = &customers_with_rows(&c, 5).await[0].to_string();
    let stranger = caller(&app);
    for sub in ["contacts", "sites", "contracts"] {
        let path = format!("/v1/customers/{id}/{sub}");
        let rows = c.all(&format!("{path}?limit=2&sort=-created_at")).await;
        let ids: BTreeSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!((rows.len(), ids.len()), (5, 5), "{sub}: every row once");
        assert!(
            rows.iter().all(|r| r["customer_id"] == id.as_str()),
            "{sub}: only this customer's rows"
        );
        c.get(&format!("/v1/customers/{}/{sub}", Uuid::now_v7()))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        stranger
            .get(&path)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
}

/// Batch reads: the contacts, sites and contracts of many customers in one
/// request (`customer_id=a,b`), the first of each with `per=customer_id`.
#[tokio::test]
async fn lists_read_the_rows_of_many_customers_at_once() {
    let app = app().await;
    let c = caller(&app);
    let customers = customers_with_rows(&c, 3).await;
    for list in ["/v1/contacts", "/v1/sites", "/v1/contracts"] {
        psa_testkit::batch::reads_per_parent(&c, list, "customer_id", customers, 2).await;
    }
}
