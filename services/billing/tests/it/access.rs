//! Who sees and changes what: tenants, permissions, the seller's settings.

use super::*;

#[tokio::test]
async fn another_tenant_s_billing_is_not_found() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    let id = d["id"].as_str().unwrap();
    let (_, other) = w.app.new_tenant(PERMS);
    other
        .get(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .get(&format!("/v1/invoice-runs/{}", run["id"].as_str().unwrap()))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .post(&format!("/v1/invoices/{id}/release"), json!({}))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .delete(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(other.get("/v1/invoices").await.items().is_empty());
    assert!(other.get("/v1/billing/items").await.items().is_empty());
    // Without the permission: 403.
    let reader = w.app.client_for(w.tenant, &["invoices:read"]);
    reader
        .post(&format!("/v1/invoices/{id}/release"), json!({}))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn settings_are_validated_and_series_are_formats() {
    let w = World::new().await;
    let s =
        w.c.get("/v1/billing/settings")
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(
        (s["version"].as_i64(), s["invoice_number_format"].as_str()),
        (Some(0), Some("RE-{YYYY}-{seq:05}"))
    );
    let bad =
        w.c.patch(
            "/v1/billing/settings",
            json!({"iban": "DE03120300000000202051", "invoice_number_format": "RE-{YYYY}",
        "default_vat_rate": "100.00", "bic": "nope"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = bad.error_fields();
    for f in ["iban", "invoice_number_format", "default_vat_rate", "bic"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    for bad in [
        json!({"invoice_number_format": "RE{seq}", "credit_note_number_format": "RE{seq:02}"}),
        json!({"default_vat_rate": "0"}),
    ] {
        w.c.patch("/v1/billing/settings", bad)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    w.c.patch("/v1/billing/settings", json!({"default_vat_rate": 19}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    w.seller().await;
    let s = w.c.get("/v1/billing/settings").await;
    assert_eq!(
        (s["version"].as_i64(), s["legal_name"].as_str()),
        (Some(1), Some("Muster IT GmbH"))
    );
    w.c.patch("/v1/billing/settings", json!({"bic": null}))
        .await
        .assert_status(StatusCode::OK);
    assert!(
        w.c.get("/v1/billing/settings").await["bic"].is_null(),
        "a merge patch clears"
    );
}

/// Batch reads: the invoices of many customers in one request, the first
/// of each with `per=customer_id`.
#[tokio::test]
async fn invoices_of_many_customers_are_read_at_once() {
    let w = World::new().await;
    let customers = [w.customer(json!({})).await, w.customer(json!({})).await];
    for customer in customers {
        for i in 0..3 {
            w.c.create(
                "/v1/invoices",
                json!({"customer_id": customer, "notes": format!("draft {i}")}),
            )
            .await;
        }
    }
    psa_testkit::batch::reads_per_parent(&w.c, "/v1/invoices", "customer_id", customers, 2).await;
}
