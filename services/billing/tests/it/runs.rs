//! Invoice runs: what a period of contracts and approved time becomes.

use super::*;

#[tokio::test]
async fn a_month_of_managed_services_is_the_fee_and_the_overage() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let ticket = w.ticket(customer).await;
    // 12 h 30 min approved, 1 h not billable, 1 h billable but not approved.
    let mut approved = vec![];
    for (day, minutes) in [
        ("2026-11-02", 180),
        ("2026-11-03", 180),
        ("2026-11-10", 120),
        ("2026-11-11", 150),
        ("2026-11-20", 120),
    ] {
        approved.push(w.log(ticket, day, minutes, true).await);
    }
    let unbillable = w.log(ticket, "2026-11-04", 60, false).await;
    let pending = w.log(ticket, "2026-11-05", 60, true).await;
    let items = w.approve(&approved).await;
    assert_eq!(items["data"].as_array().unwrap().len(), 5);
    assert!(
        items["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "approved")
    );
    // Not billable: not an item at all.
    w.c.get(&format!("/v1/billing/items/{unbillable}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let run = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        (
            run["customers_total"].as_i64(),
            run["customers_done"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(run["invoices_created"], 1);
    let drafts = w.drafts_of(&run).await;
    assert_eq!(drafts.len(), 1);
    let d = &drafts[0];
    assert_eq!(
        (d["status"].as_str(), d["type"].as_str()),
        (Some("draft"), Some("invoice"))
    );
    assert!(d["number"].is_null(), "a draft has no number");
    let lines = lines_of(d);
    assert_eq!(lines.len(), 2, "{d}");
    assert_eq!(
        (lines[0]["kind"].as_str(), lines[0]["net_amount"].as_str()),
        (Some("fee"), Some("1000.00"))
    );
    assert_eq!(lines[0]["unit_code"], "MON");
    assert_eq!(lines[1]["kind"], "overage");
    assert_eq!(
        (
            lines[1]["quantity"].as_str(),
            lines[1]["unit_code"].as_str()
        ),
        (Some("2.5000"), Some("HUR"))
    );
    assert_eq!(
        (
            lines[1]["unit_price"].as_str(),
            lines[1]["net_amount"].as_str()
        ),
        (Some("95.0000"), Some("237.50"))
    );
    assert_eq!(
        (
            d["net_total"].as_str(),
            d["tax_total"].as_str(),
            d["gross_total"].as_str()
        ),
        (Some("1237.50"), Some("235.13"), Some("1472.63"))
    );
    for id in &approved {
        let item = w.c.get(&format!("/v1/billing/items/{id}")).await.body;
        assert_eq!(
            (item["status"].as_str(), item["invoice_id"].as_str()),
            (Some("invoiced"), d["id"].as_str())
        );
    }
    let left = w.c.get(&format!("/v1/billing/items/{pending}")).await.body;
    assert_eq!(left["status"], "pending", "unapproved time is not billed");

    // A second run over the month adds nothing.
    let again = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(
        (again["status"].as_str(), again["invoices_created"].as_i64()),
        (Some("completed"), Some(0))
    );
    // Time approved late is billed by a later run, as overage: the month's
    // included hours were used by the first.
    let late = w.log(ticket, "2026-11-20", 180, true).await;
    w.approve(&[late]).await;
    let late_run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&late_run).await[0];
    let lines = lines_of(d);
    assert_eq!(lines.len(), 1, "no second fee: {d}");
    assert_eq!(
        (
            lines[0]["kind"].as_str(),
            lines[0]["quantity"].as_str(),
            lines[0]["net_amount"].as_str()
        ),
        (Some("overage"), Some("3.0000"), Some("285.00"))
    );
}

#[tokio::test]
async fn a_draft_whose_time_changed_is_not_released_and_gives_the_time_back_for_approval() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    w.contract(
        customer,
        json!({"type": "time_and_materials", "monthly_fee": null, "included_hours": null}),
    )
    .await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 60, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    let id = d["id"].as_str().unwrap();
    // Edited in tickets before tickets heard it is invoiced.
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        90,
        true,
        2,
    )
    .await;
    let refused =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(refused.error_fields(), vec!["lines"]);
    w.c.delete(&format!("/v1/invoices/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["minutes"].as_i64()),
        (Some("pending"), Some(90)),
        "what it says now was never approved"
    );
}

#[tokio::test]
async fn time_within_the_included_hours_is_shown_at_nothing_and_used() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 90, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let lines = lines_of(&w.drafts_of(&run).await[0]).clone();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[1]["quantity"].as_str(),
            lines[1]["net_amount"].as_str()
        ),
        (Some("1.5000"), Some("0.00"))
    );
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["status"],
        "invoiced"
    );
}
#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_run() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({})).await;
    let body = json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}});
    let first =
        w.c.post_idem("/v1/invoice-runs", "run-nov", &body)
            .await
            .assert_status(StatusCode::ACCEPTED);
    let done = w.finished(first.location().unwrap()).await;
    let second =
        w.c.post_idem("/v1/invoice-runs", "run-nov", &body)
            .await
            .assert_status(StatusCode::ACCEPTED);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(w.drafts_of(&done).await.len(), 1);
    let all = w.c.get("/v1/invoices").await;
    assert_eq!(all.items().len(), 1, "the replay made nothing");
}

#[tokio::test]
async fn a_contract_from_day_16_of_a_30_day_month_pays_half_the_fee() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({"start_date": "2026-11-16"}))
        .await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let drafts = w.drafts_of(&run).await;
    let lines = lines_of(&drafts[0]);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0]["quantity"].as_str(),
            lines[0]["unit_code"].as_str()
        ),
        (Some("15.0000"), Some("DAY"))
    );
    assert_eq!(lines[0]["net_amount"], "500.00");
    assert_eq!(
        (
            lines[0]["period_from"].as_str(),
            lines[0]["period_to"].as_str()
        ),
        (Some("2026-11-16"), Some("2026-11-30"))
    );
}

#[tokio::test]
async fn an_edit_after_approval_resets_the_item_and_deleting_a_draft_gives_time_back() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(
        customer,
        json!({"type": "time_and_materials", "monthly_fee": null, "included_hours": null}),
    )
    .await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 50, true).await;
    w.approve(&[entry]).await;
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        70,
        true,
        2,
    )
    .await;
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["minutes"].as_i64()),
        (Some("pending"), Some(70))
    );
    assert!(item["approved_by"].is_null());
    // An older version of the entry changes nothing.
    w.time(
        "time_entry.updated",
        (entry, ticket),
        "2026-11-02",
        10,
        true,
        1,
    )
    .await;
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["minutes"],
        70
    );

    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    let d = &w.drafts_of(&run).await[0];
    // 70 minutes rounded up to 75: 1.25 h × 95.
    assert_eq!(lines_of(d)[0]["net_amount"], "118.75");
    // Approving an invoiced item is refused, all or none.
    w.c.post("/v1/billing/items/approve", json!({"ids": [entry]}))
        .await
        .assert_problem(StatusCode::CONFLICT, "item_state");
    w.c.delete(&format!("/v1/invoices/{}", d["id"].as_str().unwrap()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let item = w.c.get(&format!("/v1/billing/items/{entry}")).await.body;
    assert_eq!(
        (item["status"].as_str(), item["invoice_id"].as_str()),
        (Some("approved"), None)
    );
    let rerun = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(rerun["invoices_created"], 1, "the time is billed again");
}

#[tokio::test]
async fn time_without_a_rate_is_left_approved_and_said() {
    let w = World::new().await;
    let customer = w.customer(json!({})).await;
    w.contract(customer, json!({"type": "time_and_materials", "hourly_rate": null, "monthly_fee": null, "included_hours": null})).await;
    let ticket = w.ticket(customer).await;
    let entry = w.log(ticket, "2026-11-02", 60, true).await;
    w.approve(&[entry]).await;
    let run = w.run("2026-11-01", "2026-11-30").await;
    assert_eq!(
        (run["status"].as_str(), run["invoices_created"].as_i64()),
        (Some("completed"), Some(0))
    );
    let problems = run["problems"].as_array().unwrap();
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("no hourly rate"),
        "{run}"
    );
    assert_eq!(
        w.c.get(&format!("/v1/billing/items/{entry}")).await["status"],
        "approved"
    );
}
