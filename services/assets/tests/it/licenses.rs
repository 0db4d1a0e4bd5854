//! Licenses: seats that concurrent assignments never exceed, and keys that
//! are sealed, never listed, and revealed only with an audit record.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::World;

#[tokio::test]
async fn ten_concurrent_assignments_take_exactly_five_seats() {
    let w = World::new().await;
    let customer = w.customer().await;
    let license =
        w.c.create(
            "/v1/licenses",
            json!({"customer_id": customer, "product": "Microsoft 365 Business Premium",
                "vendor": "Microsoft", "seats": 5, "expiry_date": "2027-06-30",
                "cost": "22.00", "currency": "EUR", "billing_cycle": "monthly"}),
        )
        .await;
    let mut assets = Vec::new();
    for i in 0..10 {
        assets.push(
            w.asset(
                customer,
                json!({"name": format!("pc-{i}"), "type": "workstation"}),
            )
            .await,
        );
    }
    let path = format!(
        "/v1/licenses/{}/assignments",
        license["id"].as_str().unwrap()
    );
    let results = join_all(
        assets
            .iter()
            .map(|a| w.c.post(&path, json!({"asset_id": a["id"]}))),
    )
    .await;
    let created = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused: Vec<_> = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!(
        created,
        5,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 5);
    assert!(refused.iter().all(|r| r.body["code"] == "seats_exhausted"));
    assert_eq!(w.c.all(&path).await.len(), 5);
    let got =
        w.c.get(&format!("/v1/licenses/{}", license["id"].as_str().unwrap()))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(got.body["seats_used"], 5);

    // Fewer seats than assigned is refused; a freed seat is taken again.
    let lpath = format!("/v1/licenses/{}", license["id"].as_str().unwrap());
    w.c.patch(&lpath, json!({"seats": 4}))
        .await
        .assert_problem(StatusCode::CONFLICT, "seats_in_use");
    let one = &w.c.all(&path).await[0];
    let assigned = one["asset_id"].clone();
    w.c.post(&path, json!({"asset_id": assigned}))
        .await
        .assert_status(StatusCode::CONFLICT);
    w.c.delete(&format!("{path}/{}", one["id"].as_str().unwrap()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let contact = w.contact(customer, "erika@contoso.example").await;
    w.c.post(&path, json!({"contact_id": contact}))
        .await
        .assert_status(StatusCode::CREATED);
    w.c.post(&path, json!({"asset_id": assigned, "contact_id": contact}))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_license_key_is_sealed_and_each_reveal_is_recorded() {
    let w = World::new().await;
    let customer = w.customer().await;
    let key = "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY";
    let res =
        w.c.post(
            "/v1/licenses",
            json!({"customer_id": customer, "product": "Veeam B&R", "seats": 1,
            "license_key": key}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let id = res.body["id"].as_str().unwrap().to_owned();
    assert!(!res.text.contains(key), "the key is not in the response");
    assert_eq!(res.body["has_key"], true);
    let stored: Vec<u8> = sqlx::query_scalar("select license_key from assets.licenses")
        .fetch_one(&w.app.db.admin)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains(key),
        "stored encrypted"
    );
    for list in ["/v1/licenses", &format!("/v1/licenses/{id}")] {
        let res = w.c.get(list).await.assert_status(StatusCode::OK);
        assert!(!res.text.contains(key), "{list}");
    }

    let plain = w.app.client_for(w.tenant, &["assets:read", "assets:write"]);
    plain
        .get(&format!("/v1/licenses/{id}/key"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let revealed =
        w.c.get(&format!("/v1/licenses/{id}/key"))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(revealed.body["license_key"], key);
    assert_eq!(revealed.header("cache-control"), Some("no-store"));
    let audit: Vec<(String, String)> =
        sqlx::query_as("select subject, license_id::text from assets.key_reveals")
            .fetch_all(&w.app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        audit.len(),
        1,
        "one reveal, one record; the refused one none"
    );
    assert_eq!(audit[0].1, id);
    let events: i64 = sqlx::query_scalar(
        "select count(*) from assets.outbox where type = 'license.key_revealed' and payload::text not like '%ABCDE%'",
    )
    .fetch_one(&w.app.db.admin)
    .await
    .unwrap();
    assert_eq!(events, 1);
    let auditor = w.app.client_for(w.tenant, &["audit:read"]);
    let reveals = auditor.all(&format!("/v1/licenses/{id}/key-reveals")).await;
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0]["subject"], audit[0].0.as_str());
    w.c.get(&format!("/v1/licenses/{id}/key-reveals"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Replaced, then removed by a patch; another tenant sees none of it.
    w.c.patch(
        &format!("/v1/licenses/{id}"),
        json!({"license_key": "NEW-KEY"}),
    )
    .await
    .assert_status(StatusCode::OK);
    let again =
        w.c.get(&format!("/v1/licenses/{id}/key"))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(again.body["license_key"], "NEW-KEY");
    let (_, other) = w.app.new_tenant(crate::PERMS);
    other
        .get(&format!("/v1/licenses/{id}/key"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let cleared =
        w.c.patch(&format!("/v1/licenses/{id}"), json!({"license_key": null}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(cleared.body["has_key"], false);
    w.c.get(&format!("/v1/licenses/{id}/key"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

/// Batch reads: the assets and licenses of many customers in one request,
/// the first of each with `per=customer_id`; an asset's licenses are those
/// with a seat of it (`asset_id=`, which `per` cannot name).
#[tokio::test]
async fn lists_read_the_rows_of_many_customers_and_assets_at_once() {
    let w = World::new().await;
    let customers = [w.customer().await, w.customer().await];
    let mut assets = Vec::new();
    let mut licenses = Vec::new();
    for customer in customers {
        for i in 0..3 {
            let asset = w.asset(customer, json!({"name": format!("srv-{i}")})).await;
            assets.push(psa_testkit::id_of(&asset));
            let license = json!({"customer_id": customer, "product": format!("Suite {i}"),
                "seats": 5});
            licenses.push(psa_testkit::id_of(
                &w.c.create("/v1/licenses", license).await,
            ));
        }
    }
    for list in ["/v1/assets", "/v1/licenses"] {
        psa_testkit::batch::reads_per_parent(&w.c, list, "customer_id", customers, 2).await;
    }

    // Seats: licenses 0 and 1 on asset 0, license 0 also on asset 1.
    for (license, asset) in [(0, 0), (1, 0), (0, 1)] {
        w.c.create(
            &format!("/v1/licenses/{}/assignments", licenses[license]),
            json!({"asset_id": assets[asset]}),
        )
        .await;
    }
    let of_assets = async |query: &str| {
        let page =
            w.c.get(&format!("/v1/licenses?{query}"))
                .await
                .assert_status(StatusCode::OK);
        let mut ids: Vec<Uuid> = page.items().iter().map(psa_testkit::id_of).collect();
        ids.sort();
        ids
    };
    let mut held = vec![licenses[0], licenses[1]];
    held.sort();
    assert_eq!(of_assets(&format!("asset_id={}", assets[0])).await, held);
    assert_eq!(
        of_assets(&format!("asset_id={},{}", assets[0], assets[1])).await,
        held,
        "each license once"
    );
    assert_eq!(
        of_assets(&format!("asset_id={}", assets[1])).await,
        [licenses[0]]
    );
    assert!(
        of_assets(&format!("asset_id={}", assets[2]))
            .await
            .is_empty()
    );
    w.c.get(&format!("/v1/licenses?asset_id={}&per=asset_id", assets[0]))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_per");
}
