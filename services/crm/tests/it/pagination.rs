use std::collections::BTreeSet;

use serde_json::Value;

use crate::{ALL, Client, app};

async fn page(c: &Client<'_>, query: &str) -> (Vec<String>, Option<String>) {
    let body: Value = c
        .get(&format!("/v1/customers?{query}"))
        .await
        .json()
        .await
        .unwrap();
    let names = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    (names, body["next_cursor"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn pages_are_complete_and_stable_under_inserts() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    for i in 0..120 {
        c.customer(&format!("cust-{i:03}")).await;
    }
    for sort in [
        "created_at",
        "name",
        "-name",
        "-updated_at",
        "customer_number",
    ] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(cur) => format!("limit=50&sort={sort}&cursor={cur}"),
                None => format!("limit=50&sort={sort}"),
            };
            let (names, next) = page(&c, &q).await;
            pages += 1;
            seen.extend(names);
            // Rows inserted between pages must not shift or repeat the originals.
            if pages == 1 && sort == "created_at" {
                for j in 0..5 {
                    c.customer(&format!("late-{j}")).await;
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
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
            assert_eq!(pages, 3, "125 rows by 50");
        }
    }
}

#[tokio::test]
async fn a_cursor_is_bound_to_its_sort_and_updated_since_filters() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    for i in 0..3 {
        c.customer(&format!("c{i}")).await;
    }
    let (_, cursor) = page(&c, "limit=1&sort=name").await;
    let res = c
        .get(&format!(
            "/v1/customers?limit=1&sort=created_at&cursor={}",
            cursor.unwrap()
        ))
        .await;
    crate::problem(res, reqwest::StatusCode::BAD_REQUEST).await;

    let future = "2999-01-01T00:00:00Z";
    let (names, _) = page(&c, &format!("updated_since={future}")).await;
    assert!(names.is_empty());
    let (names, _) = page(&c, "updated_since=2000-01-01T00:00:00Z").await;
    assert_eq!(names.len(), 3);
}
