//! Flow 3 (asset end of life), across the modules over the bus: CRM's
//! customer reaches the assets module and tickets; the daily watch (on an
//! injected clock) publishes `asset.eol`; tickets, told so by the tenant's
//! setting, opens one ticket for it, and a second run opens none.

use chrono::{Days, NaiveDate};

use super::*;

const ASSETS: &[&str] = &[
    "customers:read",
    "customers:write",
    "tickets:read",
    "tickets:write",
    "assets:read",
    "assets:write",
];

#[tokio::test]
async fn an_asset_s_warranty_end_opens_one_ticket() {
    let p = Platform::start(|_| {}).await;
    let bus = p.gw.bus();
    let queue = bus
        .declare_queue("e2e.assets", &["asset.eol"], 3)
        .await
        .expect("a queue");
    let tenant = p.tenant().await;
    let staff = tenant.service_account(ASSETS).await;
    let customer = fixtures::customer(&staff, "Contoso").await;
    let customer_id = customer["id"].as_str().unwrap().to_owned();

    let today: NaiveDate = "2030-01-01".parse().unwrap();
    let warranty_end = today + Days::new(30);
    // The assets module learns of the customer from CRM's events.
    let deadline = Instant::now() + PATIENCE;
    let asset = loop {
        let res = staff
            .post(
                "/v1/assets",
                json!({"customer_id": customer_id, "name": "srv-01", "type": "server",
                    "warranty_end": warranty_end}),
            )
            .await;
        if res.status == StatusCode::CREATED {
            break res.body;
        }
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
        assert!(
            Instant::now() < deadline,
            "assets never learnt of the customer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    staff
        .patch(
            "/v1/tickets/settings",
            json!({"open_tickets_for_asset_eol": true}),
        )
        .await
        .assert_status(StatusCode::OK);

    let pool = p.gw.db.module_pool(&psa_assets::module()).unwrap();
    let noon = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
    assert_eq!(
        psa_assets::workers::watch_once(&pool, noon).await.unwrap(),
        1
    );
    let got = take(&bus, &queue, PATIENCE, |got| !got.is_empty()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data["threshold_days"], 30);

    let deadline = Instant::now() + PATIENCE;
    let tickets = loop {
        let list = staff
            .get(&format!("/v1/tickets?customer_id={customer_id}"))
            .await
            .assert_status(StatusCode::OK);
        if !list.items().is_empty() {
            break list.items().clone();
        }
        assert!(Instant::now() < deadline, "no ticket for the notice");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["asset_id"], asset["id"]);

    // The next day: nothing new to report, no second ticket.
    let tomorrow = noon + chrono::Duration::days(1);
    assert_eq!(
        psa_assets::workers::watch_once(&pool, tomorrow)
            .await
            .unwrap(),
        0
    );
    assert!(
        take(&bus, &queue, Duration::from_millis(500), |g| !g.is_empty())
            .await
            .is_empty()
    );
    let list = staff
        .all(&format!("/v1/tickets?customer_id={customer_id}"))
        .await;
    assert_eq!(list.len(), 1);
}
