//! Flow 2 (time to cash), across the modules over the bus: CRM's customer
//! and contract and tickets' time reach billing as events; approved time
//! and the monthly fee become a draft, released with its number; the
//! invoiced time is frozen in tickets; a credit note corrects the invoice.

use super::*;

const BILLING: &[&str] = &[
    "customers:read",
    "customers:write",
    "contracts:read",
    "contracts:write",
    "tickets:read",
    "tickets:write",
    "time:write",
    "time:approve",
    "invoices:read",
    "invoices:write",
    "invoices:release",
];

/// Polls `path` until `ready` holds for its answer.
async fn until(
    c: &Client,
    path: &str,
    ready: impl Fn(&psa_testkit::TestResponse) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let res = c.get(path).await;
        if ready(&res) {
            return res.body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {res}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn time_to_cash_across_modules() {
    let p = Platform::start(|_| {}).await;
    let bus = p.gw.bus();
    let queue = bus
        .declare_queue(
            "e2e.billing",
            &[
                "invoice.generated",
                "invoice.released",
                "credit_note.released",
            ],
            3,
        )
        .await
        .expect("a queue");
    let tenant = p.tenant().await;
    let staff = tenant.service_account(BILLING).await;

    // A customer whose contract starts on day 16 of a 30-day month; made
    // first, so billing has it (CRM's events arrive in order) once it has
    // the customer below.
    let late = staff
        .create(
            "/v1/customers",
            json!({"name": "Fabrikam AG", "address": {"line1": "Ring 2", "postal_code": "20095",
                "city": "Hamburg", "country": "DE"}}),
        )
        .await;
    let late_id = late["id"].as_str().expect("an id");
    staff
        .create(
            "/v1/contracts",
            json!({"customer_id": late_id, "name": "Managed services", "type": "managed_services",
                "status": "active", "start_date": "2026-11-16", "currency": "EUR",
                "monthly_fee": "1000.00", "hourly_rate": "95.00", "included_hours": "10.00"}),
        )
        .await;

    let customer = staff
        .create(
            "/v1/customers",
            json!({"name": "Contoso GmbH", "address": {"line1": "Hauptstr. 1", "postal_code": "10115",
                "city": "Berlin", "country": "DE"}, "payment_terms_days": 30}),
        )
        .await;
    let cid = customer["id"].as_str().expect("an id");
    staff
        .create(
            "/v1/contracts",
            json!({"customer_id": cid, "name": "Managed services", "type": "managed_services",
                "status": "active", "start_date": "2026-01-01", "currency": "EUR",
                "monthly_fee": "1000.00", "hourly_rate": "95.00", "included_hours": "10.00"}),
        )
        .await;
    let ticket = open_ticket(&staff, cid, false).await;
    let tid = ticket["id"].as_str().expect("an id");
    // 12 h 30 min of billable time, 1 h not billable.
    let mut entries = vec![];
    for (day, minutes) in [
        ("02", 180),
        ("03", 180),
        ("10", 120),
        ("11", 150),
        ("20", 120),
    ] {
        let e = staff
            .create(
                &format!("/v1/tickets/{tid}/time-entries"),
                json!({"started_at": format!("2026-11-{day}T09:00:00Z"), "minutes": minutes}),
            )
            .await;
        entries.push(e["id"].as_str().expect("an id").to_owned());
    }
    staff
        .create(
            &format!("/v1/tickets/{tid}/time-entries"),
            json!({"started_at": "2026-11-04T09:00:00Z", "minutes": 60, "billable": false}),
        )
        .await;

    // Billing learns of the time from tickets' events.
    let pending = until(&staff, "/v1/billing/items?status=pending", |r| {
        r.items().len() == 5
    })
    .await;
    let ids: Vec<&str> = pending["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    staff
        .post("/v1/billing/items/approve", json!({"ids": ids}))
        .await
        .assert_status(StatusCode::OK);
    staff
        .patch(
            "/v1/billing/settings",
            json!({"legal_name": "Muster IT GmbH", "vat_id": "DE123456789", "iban": "DE02120300000000202051",
                "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"}}),
        )
        .await
        .assert_status(StatusCode::OK);

    until(
        &staff,
        &format!("/v1/billing/customers/{cid}/balance"),
        |r| r.status == StatusCode::OK,
    )
    .await;
    let run = staff
        .post(
            "/v1/invoice-runs",
            json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}}),
        )
        .await
        .assert_status(StatusCode::ACCEPTED);
    let run_path = run.location().expect("a Location").to_owned();
    let run = until(&staff, &run_path, |r| r["status"] != "running").await;
    assert_eq!(
        (run["status"].as_str(), run["invoices_created"].as_i64()),
        (Some("completed"), Some(2)),
        "{run}"
    );
    let drafts = staff
        .get(&format!(
            "/v1/invoices?run_id={}",
            run["id"].as_str().unwrap()
        ))
        .await;
    let of = |customer: &str| {
        drafts
            .items()
            .iter()
            .find(|d| d["customer_id"] == customer)
            .and_then(|d| d["id"].as_str())
            .expect("a draft")
            .to_owned()
    };
    let half = staff.get(&format!("/v1/invoices/{}", of(late_id))).await;
    assert_eq!(half["net_total"], "500.00", "15 of 30 days: {half}");
    let id = of(cid);
    let draft = staff.get(&format!("/v1/invoices/{id}")).await;
    let nets: Vec<&str> = draft["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["net_amount"].as_str().unwrap())
        .collect();
    assert_eq!(
        nets,
        ["1000.00", "237.50"],
        "the fee and 2.5 h overage at 95"
    );

    let rerun = staff
        .post(
            "/v1/invoice-runs",
            json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}}),
        )
        .await
        .assert_status(StatusCode::ACCEPTED);
    let rerun = until(&staff, rerun.location().expect("a Location"), |r| {
        r["status"] != "running"
    })
    .await;
    assert_eq!(
        rerun["invoices_created"], 0,
        "the rerun adds nothing: {rerun}"
    );

    let released = staff
        .post(&format!("/v1/invoices/{id}/release"), json!({}))
        .await
        .assert_status(StatusCode::OK);
    let number = released["number"].as_str().expect("a number").to_owned();
    assert!(number.ends_with("-00001"), "{number}");
    assert_eq!(released["gross_total"], "1472.63");

    // Tickets learn that the time is invoiced: it can no longer change.
    let frozen = until(&staff, &format!("/v1/time-entries/{}", entries[0]), |r| {
        r["billed_at"].is_string()
    })
    .await;
    assert_eq!(frozen["minutes"], 180);
    staff
        .patch(
            &format!("/v1/time-entries/{}", entries[0]),
            json!({"minutes": 1}),
        )
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");
    until(&staff, &format!("/v1/time-entries/{}", entries[1]), |r| {
        r["billed_at"].is_string()
    })
    .await;
    staff
        .delete(&format!("/v1/time-entries/{}", entries[1]))
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");

    let note = staff
        .create(
            &format!("/v1/invoices/{id}/credit-notes"),
            json!({"reason": "goodwill"}),
        )
        .await;
    let note = staff
        .post(
            &format!("/v1/invoices/{}/release", note["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(note["preceding_number"].as_str(), Some(number.as_str()));

    let events = take(&bus, &queue, PATIENCE, |got| got.len() >= 5).await;
    let seen: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        seen,
        [
            "invoice.generated",
            "invoice.generated",
            "invoice.released",
            "invoice.generated",
            "credit_note.released"
        ],
        "the run's two drafts, one released, a credit note's draft, its release"
    );
    assert!(events.iter().all(|e| e.tenantid == tenant.id));
    assert_eq!(events[2].data["number"].as_str(), Some(number.as_str()));
    assert_eq!(
        events[4].data["preceding_number"].as_str(),
        Some(number.as_str())
    );
}
