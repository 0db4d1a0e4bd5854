//! Gap-free numbers: concurrent releases, failed releases and deleted
//! drafts.

use super::*;

async fn draft(w: &World, customer: Uuid) -> String {
    let d = w
        .c
        .create(
            "/v1/invoices",
            json!({"customer_id": customer, "lines": [{"description": "Support", "quantity": "1", "unit_price": "95.00"}]}),
        )
        .await;
    d["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn fifty_concurrent_releases_get_1_to_50_and_failures_use_no_number() {
    let w = World::new().await;
    w.seller().await;
    w.c.patch(
        "/v1/billing/settings",
        json!({"invoice_number_format": "INV{seq:03}"}),
    )
    .await
    .assert_status(StatusCode::OK);
    let customer = w.customer(json!({})).await;
    // A customer without an address cannot be released to.
    let incomplete = w.customer(json!({"address": null})).await;

    let failing = draft(&w, incomplete).await;
    let refused =
        w.c.post(&format!("/v1/invoices/{failing}/release"), json!({}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["buyer.address"]);
    let deleted = draft(&w, customer).await;
    w.c.delete(&format!("/v1/invoices/{deleted}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let mut ids = vec![];
    for _ in 0..50 {
        ids.push(draft(&w, customer).await);
    }
    let releases = ids.iter().map(|id| {
        let c = w.c.clone();
        let path = format!("/v1/invoices/{id}/release");
        async move { c.post(&path, json!({})).await }
    });
    let answers = futures::future::join_all(releases).await;
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{r}");
            r["number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|n| format!("INV{n:03}")).collect();
    assert_eq!(numbers, expected, "1 to 50, no gap, no duplicate");
    // The failed one, released once it can be, takes the next number.
    let now = Utc::now();
    w.project("customer.updated", json!({"id": incomplete, "customer_number": "C-000001", "name": "Contoso GmbH",
        "status": "active", "external_ids": {}, "vat_treatment": "standard", "einvoice_format": "zugferd",
        "address": {"line1": "Somewhere", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        "version": 2, "created_at": now, "updated_at": now})).await;
    let late =
        w.c.post(&format!("/v1/invoices/{failing}/release"), json!({}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(late["number"], "INV051");
}
