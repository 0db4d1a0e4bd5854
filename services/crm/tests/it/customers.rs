use psa_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{app, caller};

#[tokio::test]
async fn create_then_get_with_location_and_etag() {
    let app = app().await;
    let c = caller(&app);
    let res = c
        .post(
            "/v1/customers",
            json!({"name": "Acme", "email": "it@acme.example",
        "external_ids": {"infexio": "42"}}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let location = res.location().unwrap().to_owned();
    assert_eq!(res.etag(), Some("\"1\""));
    let created = res.body;
    assert_eq!(
        location,
        format!("/v1/customers/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["version"], 1);
    assert_eq!(created["status"], "active");
    assert!(
        created["customer_number"]
            .as_str()
            .unwrap()
            .starts_with("C-")
    );

    let res = c.get(&location).await.assert_status(StatusCode::OK);
    assert_eq!(res.etag(), Some("\"1\""));
    assert_eq!(res.body, created);

    let found = c.get("/v1/customers?external_id=infexio:42").await;
    assert_eq!(found.items().len(), 1);
}

#[tokio::test]
async fn patch_merges_bumps_version_and_honours_if_match() {
    let app = app().await;
    let c = caller(&app);
    let cust = c
        .create(
            "/v1/customers",
            json!({"name": "Acme", "notes": "vip", "phone": "+49 30 1"}),
        )
        .await;
    let path = format!("/v1/customers/{}", cust["id"].as_str().unwrap());

    c.patch_if_match(&path, "\"7\"", json!({"name": "X"}))
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");

    let ok = c
        .patch_if_match(
            &path,
            "\"1\"",
            json!({"name": "Acme AG", "notes": null, "address": {"line1": "A 1", "city": "Berlin", "country": "DE"}}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(ok.etag(), Some("\"2\""));
    assert_eq!(ok["name"], "Acme AG");
    assert_eq!(ok["notes"], Value::Null);
    assert_eq!(ok["phone"], "+49 30 1", "fields not in the patch stay");
    assert_eq!(ok["address"]["city"], "Berlin");

    // The old version is stale now.
    c.patch_if_match(&path, "\"1\"", json!({"name": "Y"}))
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");

    // Read-only and unknown fields are refused; removing a required one too.
    for bad in [
        json!({"id": "x"}),
        json!({"version": 9}),
        json!({"name": null}),
        json!({"status": "gone"}),
    ] {
        c.patch(&path, bad)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_eq!(c.get(&path).await["version"], 2);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let app = app().await;
    let c = caller(&app);
    let first = c
        .post_idem("/v1/customers", "k-1", json!({"name": "Once"}))
        .await
        .assert_status(StatusCode::CREATED);

    let second = c
        .post_idem("/v1/customers", "k-1", json!({"name": "Once"}))
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(second.location(), first.location());
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);

    c.post_idem("/v1/customers", "k-1", json!({"name": "Twice"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    assert_eq!(
        c.get("/v1/customers").await.items().len(),
        1,
        "exactly one customer was created"
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_customer() {
    let app = app().await;
    let c = caller(&app);
    let results = futures::future::join_all(
        (0..8).map(|_| c.post_idem("/v1/customers", "race", json!({"name": "Race"}))),
    )
    .await;
    let ids: std::collections::BTreeSet<uuid::Uuid> = results
        .into_iter()
        .map(|r| r.assert_status(StatusCode::CREATED).id())
        .collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn bad_input_is_a_clear_problem_never_a_500() {
    let app = app().await;
    let c = caller(&app);

    let unknown = c
        .post("/v1/customers", json!({"name": "A", "nmae": "typo"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(unknown.error_fields()[0], "nmae");

    let invalid = c
        .post(
            "/v1/customers",
            json!({"name": "", "email": "nope", "website": "ftp://x"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(invalid.error_fields(), ["name", "email", "website"]);

    let wrong_type = c
        .post("/v1/customers", json!({"name": 5}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(wrong_type.error_fields()[0], "name");

    let raw = |content_type: &str, body: &str| {
        c.request(reqwest::Method::POST, "/v1/customers")
            .header("content-type", content_type)
            .body(body.to_owned())
    };
    c.send(raw("application/json", "{\"name\": "))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
    c.send(raw("text/plain", "name=A"))
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    let huge = json!({"name": "A", "notes": "x".repeat(1_100_000)});
    c.post("/v1/customers", huge)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

    for (q, code) in [
        ("limit=abc", "invalid_limit"),
        ("limit=0", "invalid_limit"),
        ("limit=201", "invalid_limit"),
        ("cursor=garbage", "invalid_cursor"),
        ("cursor=e30", "invalid_cursor"),
        ("sort=password", "invalid_sort"),
        ("updated_since=yesterday", "invalid_query"),
        ("status=deleted", "bad_request"),
    ] {
        let res = c
            .get(&format!("/v1/customers?{q}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, code);
        assert!(res["detail"].is_string(), "{q}");
    }
    for path in [
        "/v1/customers/not-a-uuid",
        "/v1/customers/00000000-0000-0000-0000-000000000000",
        "/v1/contracts/1",
    ] {
        c.get(path)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    c.patch("/v1/customers/not-a-uuid", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let money_as_number = c
        .post(
            "/v1/contracts",
            json!({"customer_id": uuid::Uuid::now_v7(), "name": "x",
        "type": "project", "start_date": "2026-01-01", "currency": "EUR", "hourly_rate": 95.5}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(money_as_number.error_fields()[0], "hourly_rate");

    c.send(c.request(reqwest::Method::PUT, "/v1/customers"))
        .await
        .assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

/// What a column cannot hold is refused as the document says, before the
/// database sees it (an `included_hours` beyond numeric(10, 2) was a 500).
#[tokio::test]
async fn values_beyond_their_columns_are_refused() {
    let app = app().await;
    let c = caller(&app);
    let id = fixtures::customer(&c, "Sized").await["id"].clone();
    for (field, value) in [
        ("included_hours", "123456789"),
        ("hourly_rate", "1234567890123"),
        ("monthly_fee", "1.234"),
        ("hourly_rate", "01.50"),
    ] {
        let mut body = fixtures::contract_body(id.as_str().unwrap());
        body[field] = json!(value);
        let p = c
            .post("/v1/contracts", body)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(p.error_fields(), [field], "{field} = {value}");
    }
    let mut body = fixtures::contract_body(id.as_str().unwrap());
    body["included_hours"] = json!("99999999.99");
    c.create("/v1/contracts", body).await;

    let nul = c
        .post(
            "/v1/customers",
            json!({"name": "A\u{0}B", "notes": "bell\u{7}"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(nul.error_fields(), ["name", "notes"]);
    for q in ["q=%00", "customer_number=a%0Ab", "external_id=Infexio:1"] {
        c.get(&format!("/v1/customers?{q}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test]
async fn duplicates_and_dependent_deletes_conflict() {
    let app = app().await;
    let c = caller(&app);
    c.create(
        "/v1/customers",
        json!({"name": "A", "customer_number": "K-1"}),
    )
    .await;
    c.post(
        "/v1/customers",
        json!({"name": "B", "customer_number": "K-1"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "customer_number_taken");

    let cust = fixtures::customer(&c, "With contract").await;
    let id = cust["id"].as_str().unwrap();
    let contract = fixtures::contract(&c, id).await;
    fixtures::contact(&c, id, "Dana").await;

    let blocked = c
        .delete(&format!("/v1/customers/{id}"))
        .await
        .assert_problem(StatusCode::CONFLICT, "customer_has_contracts");
    assert!(blocked["detail"].as_str().unwrap().contains("contract"));

    c.delete(&format!(
        "/v1/contracts/{}",
        contract["id"].as_str().unwrap()
    ))
    .await
    .assert_status(StatusCode::NO_CONTENT);
    c.delete(&format!("/v1/customers/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    c.get(&format!("/v1/customers/{id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert!(
        c.get(&format!("/v1/contacts?customer_id={id}"))
            .await
            .items()
            .is_empty(),
        "contacts go with their customer"
    );
    let deleted: Vec<String> =
        sqlx::query_scalar("select type from crm.outbox where type like '%.deleted' order by id")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        deleted,
        ["contract.deleted", "contact.deleted", "customer.deleted"],
        "cascaded deletes are announced"
    );
}

#[tokio::test]
async fn contacts_sites_contracts_belong_to_known_customers() {
    let app = app().await;
    let c = caller(&app);
    let missing = c
        .post(
            "/v1/contacts",
            json!({"customer_id": uuid::Uuid::now_v7(), "name": "Nobody"}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(missing.error_fields()[0], "customer_id");

    let cust = fixtures::customer(&c, "Acme").await;
    let id = cust["id"].as_str().unwrap();
    let first = c
        .create(
            "/v1/contacts",
            json!({"customer_id": id, "name": "First", "is_primary": true}),
        )
        .await;
    let second = c
        .create(
            "/v1/contacts",
            json!({"customer_id": id, "name": "Second", "is_primary": true}),
        )
        .await;
    let first_now = c
        .get(&format!("/v1/contacts/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        first_now["is_primary"], false,
        "one primary contact per customer"
    );
    assert_eq!(first_now["version"], 2);
    let flags: Vec<bool> = c
        .get(&format!("/v1/customers/{id}/contacts"))
        .await
        .items()
        .iter()
        .map(|c| c["is_primary"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true]);
    assert_eq!(second["is_primary"], true);

    c.create(
        "/v1/sites",
        json!({"customer_id": id, "name": "HQ", "time_zone": "Europe/Berlin"}),
    )
    .await;
    c.post(
        "/v1/sites",
        json!({"customer_id": id, "name": "HQ", "time_zone": "Mars/Base"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let mut block = fixtures::contract_body(id);
    block["name"] = json!("Block");
    block["type"] = json!("block_hours");
    block["end_date"] = json!("2026-12-31");
    block["hourly_rate"] = json!("95.00");
    block["included_hours"] = json!("20.5");
    block.as_object_mut().unwrap().remove("monthly_fee");
    let contract = c.create("/v1/contracts", block).await;
    assert_eq!(contract["hourly_rate"], "95.00");
    assert_eq!(contract["included_hours"], "20.50");
    assert_eq!(contract["sla"]["critical"]["response_minutes"], 15);
    let listed = c.get(&format!("/v1/customers/{id}/contracts")).await;
    assert_eq!(listed.items()[0]["id"], contract["id"]);
    assert!(
        c.get("/v1/contracts?active_on=2027-01-01")
            .await
            .items()
            .is_empty(),
        "ended by then"
    );

    c.get(&format!("/v1/customers/{}/contacts", uuid::Uuid::now_v7()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn every_change_leaves_one_outbox_event_in_its_transaction() {
    let app = app().await;
    let c = caller(&app);
    let cust = fixtures::customer(&c, "Evented").await;
    let id = cust["id"].as_str().unwrap();
    let path = format!("/v1/customers/{id}");
    c.patch(&path, json!({"notes": "x"})).await;
    // A patch that changes nothing is no event.
    c.patch(&path, json!({"notes": "x"})).await;
    // A failed write leaves nothing behind.
    c.post(
        "/v1/customers",
        json!({"name": "Dup", "customer_number": cust["customer_number"]}),
    )
    .await;
    c.delete(&path).await;
    let types: Vec<String> =
        sqlx::query_scalar("select type from crm.outbox where subject = $1 order by id")
            .bind(id)
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        types,
        ["customer.created", "customer.updated", "customer.deleted"]
    );
    let total: i64 = sqlx::query_scalar("select count(*) from crm.outbox")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(total, 3);
}
