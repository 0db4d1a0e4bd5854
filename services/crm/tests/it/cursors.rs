//! A cursor the server did not issue — edited, truncated, made for another
//! sort, or forged whole with a value that is not of the sort column's type —
//! is a 400 `invalid_cursor` on every CRM list and every sort it offers, in
//! both directions; never a 500.

use psa_testkit::cursors::refuses_forgeries_on_every_sort;
use psa_testkit::fixtures;
use serde_json::json;

use crate::{app, caller};

#[tokio::test]
async fn forged_cursors_are_400_on_every_list_and_sort() {
    let app = app().await;
    let c = caller(&app);
    let mut customer = String::new();
    for name in ["Beta", "Alpha"] {
        customer = fixtures::customer(&c, name).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
    }
    // Two of each under one customer, so a page of one has a next cursor.
    for (name, start) in [("Second", "2026-02-01"), ("First", "2026-01-01")] {
        fixtures::contact(&c, &customer, name).await;
        c.create("/v1/sites", json!({"customer_id": customer, "name": name}))
            .await;
        let mut contract = fixtures::contract_body(&customer);
        contract["name"] = json!(name);
        contract["start_date"] = json!(start);
        c.create("/v1/contracts", contract).await;
    }

    let mut covered = Vec::new();
    for path in [
        "/v1/customers".to_owned(),
        "/v1/contacts".to_owned(),
        "/v1/sites".to_owned(),
        "/v1/contracts".to_owned(),
        format!("/v1/customers/{customer}/contacts"),
        format!("/v1/customers/{customer}/sites"),
        format!("/v1/customers/{customer}/contracts"),
    ] {
        for sort in refuses_forgeries_on_every_sort(&c, &path).await {
            covered.push(format!("{path} {sort}"));
        }
    }
    for typed in [
        "/v1/contracts -start_date".to_owned(),
        format!("/v1/customers/{customer}/contracts start_date"),
        "/v1/customers customer_number".to_owned(),
    ] {
        assert!(covered.contains(&typed), "{typed} in {covered:?}");
    }
}
