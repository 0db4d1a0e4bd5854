//! Drafts by hand, VAT, release, immutability and credit notes.

use super::*;

/// A released invoice of 19 % and 7 % lines.
async fn released(w: &World, customer: Uuid) -> Value {
    let d = w
        .c
        .create(
            "/v1/invoices",
            json!({"customer_id": customer, "lines": [
                {"description": "Firewall appliance", "quantity": "1", "unit_price": "1000.00"},
                {"description": "Support hours", "quantity": "2.5", "unit_code": "HUR", "unit_price": "95.00"},
                {"description": "Manual (reduced rate)", "quantity": "1", "unit_price": "237.50", "vat_category": "S", "vat_rate": "7.00"},
            ]}),
        )
        .await;
    w.c.post(
        &format!("/v1/invoices/{}/release", d["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .assert_status(StatusCode::OK)
    .body
}

#[tokio::test]
async fn vat_is_one_group_per_rate_computed_once_on_its_sum() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    let inv = released(&w, customer).await;
    let groups = inv["vat_breakdown"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{inv}");
    let g = |rate: &str| groups.iter().find(|g| g["rate"] == rate).unwrap().clone();
    assert_eq!(
        (g("19.00")["base"].as_str(), g("19.00")["tax"].as_str()),
        (Some("1237.50"), Some("235.13"))
    );
    assert_eq!(
        (g("7.00")["base"].as_str(), g("7.00")["tax"].as_str()),
        (Some("237.50"), Some("16.63"))
    );
    assert_eq!(
        (
            inv["net_total"].as_str(),
            inv["tax_total"].as_str(),
            inv["gross_total"].as_str()
        ),
        (Some("1475.00"), Some("251.76"), Some("1726.76"))
    );
    assert_eq!(inv["status"], "released");
    let number = inv["number"].as_str().unwrap();
    assert!(
        number.starts_with(&format!("RE-{}-", Utc::now().format("%Y"))),
        "{number}"
    );
    assert_eq!(inv["seller"]["legal_name"], "Muster IT GmbH");
    assert_eq!(inv["open_amount"], "1726.76");
    let issued =
        chrono::NaiveDate::parse_from_str(inv["issue_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let due =
        chrono::NaiveDate::parse_from_str(inv["due_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!((due - issued).num_days(), 14, "the seller's default terms");
}

#[tokio::test]
async fn reverse_charge_is_ae_at_zero_and_needs_both_vat_ids() {
    let w = World::new().await;
    // The seller has only a tax number so far.
    w.seller().await;
    w.c.patch(
        "/v1/billing/settings",
        json!({"vat_id": null, "tax_number": "143/123/45678"}),
    )
    .await
    .assert_status(StatusCode::OK);
    let customer = w
        .customer(
            json!({"vat_treatment": "reverse_charge", "vat_id": "ATU12345678",
        "address": {"line1": "Ring 1", "postal_code": "1010", "city": "Wien", "country": "AT"}}),
        )
        .await;
    let d = w.c.create("/v1/invoices", json!({"customer_id": customer, "lines": [
        {"description": "Remote support", "quantity": "3", "unit_code": "HUR", "unit_price": "95.00"}]})).await;
    let line = &lines_of(&d)[0];
    assert_eq!(
        (line["vat_category"].as_str(), line["vat_rate"].as_str()),
        (Some("AE"), Some("0.00"))
    );
    assert!(
        line["exemption_reason"].is_null(),
        "the breakdown carries the default reason"
    );
    let group = &d["vat_breakdown"][0];
    assert_eq!(
        (group["tax"].as_str(), group["category"].as_str()),
        (Some("0.00"), Some("AE"))
    );
    assert!(
        group["exemption_reason"]
            .as_str()
            .unwrap()
            .contains("Reverse charge")
    );
    let id = d["id"].as_str().unwrap();
    let refused =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["seller.vat_id"]);
    // The buyer's VAT id gone from CRM: refused for that too.
    w.c.patch("/v1/billing/settings", json!({"vat_id": "DE123456789"}))
        .await
        .assert_status(StatusCode::OK);
    let now = Utc::now();
    w.project("customer.updated", json!({"id": customer, "customer_number": "C-000001", "name": "Contoso GmbH",
        "status": "active", "external_ids": {}, "vat_treatment": "reverse_charge", "einvoice_format": "zugferd",
        "address": {"line1": "Ring 1", "postal_code": "1010", "city": "Wien", "country": "AT"},
        "version": 2, "created_at": now, "updated_at": now})).await;
    let refused =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["buyer.vat_id"]);
    w.project("customer.updated", json!({"id": customer, "customer_number": "C-000001", "name": "Contoso GmbH",
        "status": "active", "external_ids": {}, "vat_treatment": "reverse_charge", "einvoice_format": "zugferd",
        "vat_id": "ATU12345678",
        "address": {"line1": "Ring 1", "postal_code": "1010", "city": "Wien", "country": "AT"},
        "version": 3, "created_at": now, "updated_at": now})).await;
    let inv =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(
        (inv["tax_total"].as_str(), inv["buyer"]["vat_id"].as_str()),
        (Some("0.00"), Some("ATU12345678"))
    );
}

#[tokio::test]
async fn a_released_invoice_never_changes() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    let inv = released(&w, customer).await;
    let id = inv["id"].as_str().unwrap();
    let path = format!("/v1/invoices/{id}");
    w.c.patch(&path, json!({"notes": "changed"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "invoice_released");
    w.c.delete(&path)
        .await
        .assert_problem(StatusCode::CONFLICT, "invoice_released");
    w.c.post(
        &format!("{path}/lines"),
        json!({"description": "more", "quantity": "1", "unit_price": "1.00"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "invoice_released");
    let line = lines_of(&inv)[0]["id"].as_str().unwrap();
    w.c.patch(
        &format!("{path}/lines/{line}"),
        json!({"unit_price": "1.00"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "invoice_released");
    w.c.delete(&format!("{path}/lines/{line}"))
        .await
        .assert_problem(StatusCode::CONFLICT, "invoice_released");
    w.c.post(&format!("{path}/release"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "invoice_released");

    // Even the module's own role cannot change it in SQL.
    let pool = w.app.db.module_pool(&psa_billing::module()).unwrap();
    let store = psa_kernel::Store::new(pool, psa_billing::DB.schema);
    let id: Uuid = id.parse().unwrap();
    let line: Uuid = line.parse().unwrap();
    for sql in [
        "update billing.invoices set gross_total = 0 where id = $1",
        "delete from billing.invoices where id = $1",
        "update billing.invoice_lines set net_amount = 0 where invoice_id = $1",
        "delete from billing.invoice_lines where invoice_id = $1",
    ] {
        let mut tx = psa_kernel::Tx::for_tenant(&store, w.tenant).await.unwrap();
        let err = sqlx::query(sql)
            .bind(id)
            .execute(&mut *tx)
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("is released"), "{sql}: {err}");
    }
    let mut tx = psa_kernel::Tx::for_tenant(&store, w.tenant).await.unwrap();
    let err = sqlx::query("insert into billing.invoice_lines (id, invoice_id, position, kind, description, quantity, unit_code, unit_price, net_amount, vat_category, vat_rate) values ($1, $2, 99, 'manual', 'x', 1, 'C62', 1, 1, 'S', 19)")
        .bind(Uuid::now_v7()).bind(id).execute(&mut *tx).await.expect_err("insert");
    assert!(err.to_string().contains("is released"), "{err}");
    drop(tx);
    let _ = line;
    let after = w.doc(&id.to_string()).await;
    assert_eq!(
        (after["gross_total"].as_str(), lines_of(&after).len()),
        (Some("1726.76"), 3)
    );
}

#[tokio::test]
async fn credit_notes_credit_at_most_what_remains() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    let inv = released(&w, customer).await;
    let id = inv["id"].as_str().unwrap();
    let support = lines_of(&inv)
        .iter()
        .find(|l| l["description"] == "Support hours")
        .unwrap()["id"]
        .clone();
    // More hours than were billed: 422.
    let over =
        w.c.post(
            &format!("/v1/invoices/{id}/credit-notes"),
            json!({"lines": [{"line_id": support, "quantity": "3"}]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "credit_exceeds_remaining");
    assert_eq!(over.error_fields(), vec!["lines[0].quantity"]);
    // One hour back.
    let note = w.c.create(&format!("/v1/invoices/{id}/credit-notes"),
        json!({"reason": "one hour was booked twice", "lines": [{"line_id": support, "quantity": "1"}]})).await;
    assert_eq!(
        (note["type"].as_str(), note["status"].as_str()),
        (Some("credit_note"), Some("draft"))
    );
    assert_eq!(note["preceding_number"], inv["number"]);
    let note_id = note["id"].as_str().unwrap();
    // Its lines are the invoice's: none added, none changed.
    w.c.post(
        &format!("/v1/invoices/{note_id}/lines"),
        json!({"description": "more", "quantity": "999", "unit_price": "99999"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "credit_note_lines");
    let note_line = lines_of(&note)[0]["id"].as_str().unwrap();
    w.c.patch(
        &format!("/v1/invoices/{note_id}/lines/{note_line}"),
        json!({"quantity": "2"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "credit_note_lines");
    w.c.post(
        &format!("/v1/invoices/{id}/credit-notes"),
        json!({"lines": [{"line_id": support, "quantity": "1"}, {"line_id": support, "quantity": "1"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let released_note =
        w.c.post(&format!("/v1/invoices/{note_id}/release"), json!({}))
            .await
            .assert_status(StatusCode::OK);
    let number = released_note["number"].as_str().unwrap();
    assert!(
        number.starts_with("GS-") && number.ends_with("-00001"),
        "its own series: {number}"
    );
    assert_eq!(
        (
            released_note["preceding_number"].as_str(),
            released_note["preceding_issue_date"].as_str()
        ),
        (inv["number"].as_str(), inv["issue_date"].as_str())
    );
    assert_eq!(
        (
            released_note["net_total"].as_str(),
            released_note["gross_total"].as_str()
        ),
        (Some("95.00"), Some("113.05"))
    );
    let after = w.doc(id).await;
    assert_eq!(after["open_amount"], "1613.71", "1726.76 less 113.05");
    let balance =
        w.c.get(&format!("/v1/billing/customers/{customer}/balance"))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(balance["totals"][0]["open_amount"], "1613.71");
    assert_eq!(balance["totals"][0]["currency"], "EUR");
    assert_eq!(balance["invoices"].as_array().unwrap().len(), 1);
    let notes =
        w.c.get("/v1/credit-notes")
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(notes.items().len(), 1);
    assert_eq!(notes.items()[0]["id"].as_str(), Some(note_id));
    w.c.get(&format!("/v1/credit-notes/{note_id}"))
        .await
        .assert_status(StatusCode::OK);
    w.c.get(&format!("/v1/credit-notes/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    w.c.get(&format!("/v1/billing/customers/{}/balance", Uuid::now_v7()))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    // What remains of the line is 1.5 h: 2 h more is refused, the rest in full is fine.
    w.c.post(
        &format!("/v1/invoices/{id}/credit-notes"),
        json!({"lines": [{"line_id": support, "quantity": "2"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "credit_exceeds_remaining");
    let full =
        w.c.create(&format!("/v1/invoices/{id}/credit-notes"), json!({}))
            .await;
    let full_id = full["id"].as_str().unwrap();
    // Two drafts that together exceed: the second release is refused.
    let twin =
        w.c.create(&format!("/v1/invoices/{id}/credit-notes"), json!({}))
            .await;
    w.c.post(&format!("/v1/invoices/{full_id}/release"), json!({}))
        .await
        .assert_status(StatusCode::OK);
    w.c.post(
        &format!("/v1/invoices/{}/release", twin["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "credit_exceeds_remaining");
    assert_eq!(w.doc(id).await["open_amount"], "0.00");
    let settled =
        w.c.get(&format!("/v1/billing/customers/{customer}/balance"))
            .await;
    assert!(
        settled["invoices"].as_array().unwrap().is_empty(),
        "{settled}"
    );
    w.c.post(&format!("/v1/invoices/{id}/credit-notes"), json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "credit_exceeds_remaining");
    // A credit note is not credited; a draft is not credited.
    w.c.post(&format!("/v1/invoices/{full_id}/credit-notes"), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "not_an_invoice");
    let draft =
        w.c.create("/v1/invoices", json!({"customer_id": customer}))
            .await;
    w.c.post(
        &format!(
            "/v1/invoices/{}/credit-notes",
            draft["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "invoice_not_released");
}

#[tokio::test]
async fn drafts_change_by_merge_patch_and_their_totals_follow_the_lines() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.c.post("/v1/invoices", json!({"customer_id": Uuid::now_v7()}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_customer");
    let bad =
        w.c.post(
            "/v1/invoices",
            json!({"customer_id": customer, "lines": [
                {"description": "x", "quantity": "0", "unit_price": "1.00"},
                {"description": "x", "quantity": "1", "unit_price": 1.5},
            ]}),
        )
        .await;
    assert!(bad.status == StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let bad = w.c.post("/v1/invoices", json!({"customer_id": customer, "lines": [
        {"description": "x", "quantity": "999999", "unit_price": "99999999"},
        {"description": "x", "quantity": "1", "unit_price": "1", "vat_category": "E"},
        {"description": "x", "quantity": "1", "unit_price": "1", "vat_category": "AE", "vat_rate": "19"},
    ]})).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        bad.error_fields(),
        vec![
            "lines[0].unit_price",
            "lines[1].exemption_reason",
            "lines[2].vat_rate"
        ]
    );
    let d =
        w.c.create("/v1/invoices", json!({"customer_id": customer}))
            .await;
    let path = format!("/v1/invoices/{}", d["id"].as_str().unwrap());
    let added =
        w.c.post(
            &format!("{path}/lines"),
            json!({"description": "Switch", "quantity": "2", "unit_price": "149.99"}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(
        (added["net_total"].as_str(), added["tax_total"].as_str()),
        (Some("299.98"), Some("57.00"))
    );
    let line = lines_of(&added.body)[0]["id"].as_str().unwrap().to_owned();
    let changed =
        w.c.patch(&format!("{path}/lines/{line}"), json!({"quantity": "1"}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(changed["net_total"], "149.99");
    let v = changed["version"].as_i64().unwrap();
    let same =
        w.c.patch(&path, json!({}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(
        same["version"].as_i64(),
        Some(v),
        "a patch that changes nothing makes no version"
    );
    w.c.patch(
        &path,
        json!({"notes": "Thanks!", "period_from": "2026-11-01", "period_to": "2026-10-01"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let noted =
        w.c.patch(&path, json!({"notes": "Thanks!"}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(noted["notes"], "Thanks!");
    w.c.delete(&format!("{path}/lines/{line}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let empty = w.doc(d["id"].as_str().unwrap()).await;
    assert_eq!(
        (empty["net_total"].as_str(), lines_of(&empty).len()),
        (Some("0.00"), 0)
    );
}

#[tokio::test]
async fn release_rules_beyond_the_lines() {
    let w = World::new().await;
    w.seller().await;
    // Outside the scope of VAT does not mix with other categories.
    let abroad = w.customer(json!({"vat_treatment": "outside_scope",
        "address": {"line1": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US"}})).await;
    let d = w.c.create("/v1/invoices", json!({"customer_id": abroad, "lines": [
        {"description": "Remote support", "quantity": "1", "unit_price": "95.00"},
        {"description": "Hardware", "quantity": "1", "unit_price": "500.00", "vat_category": "S", "vat_rate": "19.00"}]})).await;
    assert_eq!(lines_of(&d)[0]["vat_category"], "O");
    let refused =
        w.c.post(
            &format!("/v1/invoices/{}/release", d["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["lines"]);
    // A public buyer on XRechnung needs its Leitweg-ID and electronic address.
    let public = w.customer(json!({"einvoice_format": "xrechnung"})).await;
    let d =
        w.c.create(
            "/v1/invoices",
            json!({"customer_id": public, "lines": [
        {"description": "Support", "quantity": "1", "unit_price": "95.00"}]}),
        )
        .await;
    let refused =
        w.c.post(
            &format!("/v1/invoices/{}/release", d["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(
        refused.error_fields(),
        vec!["buyer.leitweg_id", "buyer.invoice_email"]
    );
    // Without a period the service date is the issue date.
    let d =
        w.c.create(
            "/v1/invoices",
            json!({"customer_id": w.customer(json!({})).await, "lines": [
        {"description": "Support", "quantity": "1", "unit_price": "95.00"}]}),
        )
        .await;
    let r =
        w.c.post(
            &format!("/v1/invoices/{}/release", d["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        (r["period_from"].clone(), r["period_to"].clone()),
        (r["issue_date"].clone(), r["issue_date"].clone())
    );
}
