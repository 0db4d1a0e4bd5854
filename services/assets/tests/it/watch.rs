//! The watch, on an injected clock: once per (item, kind, threshold, date),
//! re-armed by a new date, the latest crossed threshold after missed days,
//! items due today included; events on the bus.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use psa_assets::workers::watch_once;
use psa_testkit::broker::take_n;
use reqwest::StatusCode;
use serde_json::json;

use crate::World;

/// Noon UTC on `day` (the default watch hour is 06:00 in UTC).
fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_warranty_ending_in_30_days_is_reported_once_and_re_armed_by_a_new_date() {
    let w = World::with_events().await;
    let bus = w.app.bus();
    let queue = bus
        .declare_queue("test.eol", &["asset.eol", "license.expiring"], 3)
        .await
        .unwrap();
    let pool = w.pool();
    let customer = w.customer().await;
    let today = day("2030-01-01");
    let asset = w
        .asset(customer, json!({"warranty_end": today + Days::new(30)}))
        .await;

    assert_eq!(watch_once(&pool, noon(today)).await.unwrap(), 1);
    let got = take_n(&bus, &queue, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "exactly one event");
    let e = &got[0];
    assert_eq!(e.event_type, "asset.eol");
    assert_eq!(e.tenantid, w.tenant);
    assert_eq!(e.subject, asset["id"].as_str().unwrap());
    assert_eq!(e.data["kind"], "warranty");
    assert_eq!(e.data["threshold_days"], 30);
    assert_eq!(e.data["days_left"], 30);
    assert_eq!(e.data["due_date"], "2030-01-31");
    assert_eq!(e.data["asset"]["id"], asset["id"]);

    assert_eq!(
        watch_once(&pool, noon(today)).await.unwrap(),
        0,
        "a second run"
    );
    let next = today + Days::new(1);
    assert_eq!(
        watch_once(&pool, noon(next)).await.unwrap(),
        0,
        "the next day: 30 is reported"
    );
    assert!(
        take_n(&bus, &queue, 1, Duration::from_millis(500))
            .await
            .is_empty()
    );

    // A new date re-arms it.
    let path = format!("/v1/assets/{}", asset["id"].as_str().unwrap());
    w.c.patch(&path, json!({"warranty_end": "2030-02-01"}))
        .await
        .assert_status(StatusCode::OK);
    let later = today + Days::new(2);
    assert_eq!(watch_once(&pool, noon(later)).await.unwrap(), 1);
    let got = take_n(&bus, &queue, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data["due_date"], "2030-02-01");
    assert_eq!(got[0].data["threshold_days"], 30);
}

#[tokio::test]
async fn missed_days_report_the_latest_threshold_and_today_is_included() {
    let w = World::new().await;
    let pool = w.pool();
    let customer = w.customer().await;
    let today = day("2030-03-01");
    let soon = w
        .asset(
            customer,
            json!({"name": "soon", "eol_date": today + Days::new(35)}),
        )
        .await;
    let due = w
        .asset(customer, json!({"name": "due", "eol_date": today}))
        .await;
    let license =
        w.c.create(
            "/v1/licenses",
            json!({"customer_id": customer, "product": "FortiGuard",
            "seats": 1, "expiry_date": today + Days::new(12)}),
        )
        .await;
    // Retired assets and far dates are not reported.
    w.asset(
        customer,
        json!({"name": "gone", "status": "retired", "eol_date": today}),
    )
    .await;
    w.asset(
        customer,
        json!({"name": "far", "warranty_end": today + Days::new(400)}),
    )
    .await;

    assert_eq!(watch_once(&pool, noon(today)).await.unwrap(), 3);
    // Ten days without a run: 25 days left crosses 30 (not 90 again, not
    // one event per missed day); 2 days left on the license crosses 7.
    assert_eq!(
        watch_once(&pool, noon(today + Days::new(10)))
            .await
            .unwrap(),
        2
    );
    let reported: Vec<(String, String, i32)> = sqlx::query_as(
        "select item_id::text, kind, threshold from assets.watch_notices order by reported_at, kind, threshold desc",
    )
    .fetch_all(&w.app.db.admin)
    .await
    .unwrap();
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    let mut got = reported.clone();
    got.sort();
    let mut want = vec![
        (id(&soon), "eol".to_owned(), 90),
        (id(&soon), "eol".to_owned(), 30),
        (id(&due), "eol".to_owned(), 0),
        (id(&license), "license".to_owned(), 30),
        (id(&license), "license".to_owned(), 7),
    ];
    want.sort();
    assert_eq!(got, want);
    let events: Vec<(String, i32)> = sqlx::query_as(
        "select type, (payload->>'threshold_days')::int from assets.outbox
         where type in ('asset.eol', 'license.expiring') order by created_at, id",
    )
    .fetch_all(&w.app.db.admin)
    .await
    .unwrap();
    assert_eq!(events.len(), 5, "{events:?}");
}

#[tokio::test]
async fn the_watch_runs_at_the_tenant_s_hour_in_its_time_zone() {
    let w = World::new().await;
    let pool = w.pool();
    let customer = w.customer().await;
    w.c.patch(
        "/v1/assets/settings",
        json!({"time_zone": "Pacific/Auckland", "watch_hour": 9, "thresholds": [14, 0]}),
    )
    .await
    .assert_status(StatusCode::OK);
    // 2030-06-01 in Auckland (UTC+12) is 2030-05-31 from 12:00 UTC.
    w.asset(customer, json!({"warranty_end": "2030-06-15"}))
        .await;
    let before_hour: DateTime<Utc> = "2030-05-31T20:00:00Z".parse().unwrap(); // 08:00 local
    assert_eq!(
        watch_once(&pool, before_hour).await.unwrap(),
        0,
        "before 09:00 local"
    );
    let at_hour: DateTime<Utc> = "2030-05-31T21:30:00Z".parse().unwrap(); // 09:30 local, 1 June
    assert_eq!(
        watch_once(&pool, at_hour).await.unwrap(),
        1,
        "14 days before 15 June"
    );
    let s =
        w.c.get("/v1/assets/settings")
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(s.body["last_watch_date"], "2030-06-01");
    assert_eq!(s.body["thresholds"], json!([14, 0]));
    for bad in [
        json!({"thresholds": [-1]}),
        json!({"watch_hour": 24}),
        json!({"time_zone": "Mars/Base"}),
    ] {
        w.c.patch("/v1/assets/settings", bad)
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
}
