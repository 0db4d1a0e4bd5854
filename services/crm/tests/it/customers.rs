use reqwest::StatusCode;
use serde_json::json;

use crate::{ALL, Client, app, problem};

#[tokio::test]
async fn create_then_get_with_location_and_etag() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    let res = c
        .post(
            "/v1/customers",
            &json!({"name": "Acme", "email": "it@acme.example",
        "external_ids": {"infexio": "42"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["etag"], "\"1\"");
    let created: serde_json::Value = res.json().await.unwrap();
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

    let res = c.get(&location).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let fetched: serde_json::Value = res.json().await.unwrap();
    assert_eq!(fetched, created);

    let found: serde_json::Value = c
        .get("/v1/customers?external_id=infexio:42")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn patch_merges_bumps_version_and_honours_if_match() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    let cust = c
        .create(
            "/v1/customers",
            json!({"name": "Acme", "notes": "vip", "phone": "+49 30 1"}),
        )
        .await;
    let path = format!("/v1/customers/{}", cust["id"].as_str().unwrap());

    let stale = c
        .req(reqwest::Method::PATCH, &path)
        .header("if-match", "\"7\"")
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name":"X"}"#)
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;

    let ok = c.req(reqwest::Method::PATCH, &path).header("if-match", "\"1\"")
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name":"Acme AG","notes":null,"address":{"line1":"A 1","city":"Berlin","country":"DE"}}"#)
        .send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["name"], "Acme AG");
    assert_eq!(body["notes"], serde_json::Value::Null);
    assert_eq!(body["phone"], "+49 30 1", "fields not in the patch stay");
    assert_eq!(body["address"]["city"], "Berlin");

    // The old version is stale now.
    let again = c
        .req(reqwest::Method::PATCH, &path)
        .header("if-match", "\"1\"")
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name":"Y"}"#)
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::PRECONDITION_FAILED).await;

    // Read-only and unknown fields are refused; removing a required one too.
    for bad in [
        json!({"id": "x"}),
        json!({"version": 9}),
        json!({"name": null}),
        json!({"status": "gone"}),
    ] {
        problem(c.patch(&path, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let unchanged: serde_json::Value = c.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 2);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    let send = |body: serde_json::Value| {
        c.req(reqwest::Method::POST, "/v1/customers")
            .header("idempotency-key", "k-1")
            .json(&body)
            .send()
    };
    let first = send(json!({"name": "Once"})).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_location = first.headers()["location"].clone();
    let first_body: serde_json::Value = first.json().await.unwrap();

    let second = send(json!({"name": "Once"})).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["location"], first_location);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second_body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second_body, first_body);

    let other = send(json!({"name": "Twice"})).await.unwrap();
    problem(other, StatusCode::UNPROCESSABLE_ENTITY).await;

    let list: serde_json::Value = c.get("/v1/customers").await.json().await.unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "exactly one customer was created"
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_customer() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    let futures = (0..8).map(|_| {
        c.req(reqwest::Method::POST, "/v1/customers")
            .header("idempotency-key", "race")
            .json(&json!({"name": "Race"}))
            .send()
    });
    let results = futures::future::join_all(futures).await;
    let ids: std::collections::BTreeSet<String> = {
        let mut ids = std::collections::BTreeSet::new();
        for r in results {
            let r = r.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            let v: serde_json::Value = r.json().await.unwrap();
            ids.insert(v["id"].as_str().unwrap().to_owned());
        }
        ids
    };
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn bad_input_is_a_clear_problem_never_a_500() {
    let app = app().await;
    let c = Client::new(&app, ALL);

    let unknown = problem(
        c.post("/v1/customers", &json!({"name": "A", "nmae": "typo"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "nmae");

    let invalid = problem(
        c.post(
            "/v1/customers",
            &json!({"name": "", "email": "nope", "website": "ftp://x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email", "website"]);

    let wrong_type = problem(
        c.post("/v1/customers", &json!({"name": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong_type["errors"][0]["field"], "name");

    let malformed = c
        .req(reqwest::Method::POST, "/v1/customers")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::BAD_REQUEST).await;

    let text = c
        .req(reqwest::Method::POST, "/v1/customers")
        .header("content-type", "text/plain")
        .body("name=A")
        .send()
        .await
        .unwrap();
    problem(text, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let huge = json!({"name": "A", "notes": "x".repeat(1_100_000)});
    problem(
        c.post("/v1/customers", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    for q in [
        "limit=abc",
        "limit=0",
        "limit=201",
        "cursor=garbage",
        "cursor=e30",
        "sort=password",
        "updated_since=yesterday",
        "status=deleted",
    ] {
        let body = problem(
            c.get(&format!("/v1/customers?{q}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(body["detail"].is_string(), "{q}");
    }
    for path in [
        "/v1/customers/not-a-uuid",
        "/v1/customers/00000000-0000-0000-0000-000000000000",
        "/v1/contracts/1",
    ] {
        problem(c.get(path).await, StatusCode::NOT_FOUND).await;
    }
    problem(
        c.patch("/v1/customers/not-a-uuid", &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let money_as_number = c
        .post(
            "/v1/contracts",
            &json!({"customer_id": uuid::Uuid::now_v7(), "name": "x",
        "type": "project", "start_date": "2026-01-01", "currency": "EUR", "hourly_rate": 95.5}),
        )
        .await;
    let body = problem(money_as_number, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "hourly_rate");

    let wrong_method = c
        .req(reqwest::Method::PUT, "/v1/customers")
        .send()
        .await
        .unwrap();
    problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn duplicates_and_dependent_deletes_conflict() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    c.create(
        "/v1/customers",
        json!({"name": "A", "customer_number": "K-1"}),
    )
    .await;
    let dup = c
        .post(
            "/v1/customers",
            &json!({"name": "B", "customer_number": "K-1"}),
        )
        .await;
    problem(dup, StatusCode::CONFLICT).await;

    let cust = c.customer("With contract").await;
    let id = cust["id"].as_str().unwrap();
    let contract = c.contract(id).await;
    c.create("/v1/contacts", json!({"customer_id": id, "name": "Dana"}))
        .await;

    let blocked = problem(
        c.delete(&format!("/v1/customers/{id}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(blocked["detail"].as_str().unwrap().contains("contract"));

    let res = c
        .delete(&format!(
            "/v1/contracts/{}",
            contract["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = c.delete(&format!("/v1/customers/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        c.get(&format!("/v1/customers/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let contacts: serde_json::Value = c
        .get(&format!("/v1/contacts?customer_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        contacts["data"].as_array().unwrap().is_empty(),
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
    let c = Client::new(&app, ALL);
    let missing = c
        .post(
            "/v1/contacts",
            &json!({"customer_id": uuid::Uuid::now_v7(), "name": "Nobody"}),
        )
        .await;
    let body = problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "customer_id");

    let cust = c.customer("Acme").await;
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
    let first_now: serde_json::Value = c
        .get(&format!("/v1/contacts/{}", first["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        first_now["is_primary"], false,
        "one primary contact per customer"
    );
    assert_eq!(first_now["version"], 2);
    let primaries: serde_json::Value = c
        .get(&format!("/v1/customers/{id}/contacts"))
        .await
        .json()
        .await
        .unwrap();
    let flags: Vec<bool> = primaries["data"]
        .as_array()
        .unwrap()
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
    let bad_tz = c
        .post(
            "/v1/sites",
            &json!({"customer_id": id, "name": "HQ", "time_zone": "Mars/Base"}),
        )
        .await;
    problem(bad_tz, StatusCode::UNPROCESSABLE_ENTITY).await;

    let contract = c.create("/v1/contracts", json!({"customer_id": id, "name": "Block", "type": "block_hours",
        "status": "active", "start_date": "2026-01-01", "end_date": "2026-12-31", "currency": "EUR",
        "hourly_rate": "95.00", "included_hours": "20.5",
        "sla": {"low": {"response_minutes": 480, "resolution_minutes": 4800}, "medium": {"response_minutes": 240, "resolution_minutes": 1440},
                "high": {"response_minutes": 60, "resolution_minutes": 480}, "critical": {"response_minutes": 15, "resolution_minutes": 240}},
        "business_hours": {"time_zone": "Europe/Berlin", "windows": [{"day": "mon", "start": "08:00", "end": "17:00"}]}})).await;
    assert_eq!(contract["hourly_rate"], "95.00");
    assert_eq!(contract["included_hours"], "20.50");
    assert_eq!(contract["sla"]["critical"]["response_minutes"], 15);
    let listed: serde_json::Value = c
        .get(&format!("/v1/customers/{id}/contracts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], contract["id"]);
    let active: serde_json::Value = c
        .get("/v1/contracts?active_on=2027-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        active["data"].as_array().unwrap().is_empty(),
        "ended by then"
    );

    problem(
        c.get(&format!("/v1/customers/{}/contacts", uuid::Uuid::now_v7()))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn every_change_leaves_one_outbox_event_in_its_transaction() {
    let app = app().await;
    let c = Client::new(&app, ALL);
    let cust = c.customer("Evented").await;
    let id = cust["id"].as_str().unwrap();
    c.patch(&format!("/v1/customers/{id}"), &json!({"notes": "x"}))
        .await;
    // A patch that changes nothing is no event.
    c.patch(&format!("/v1/customers/{id}"), &json!({"notes": "x"}))
        .await;
    // A failed write leaves nothing behind.
    c.post(
        "/v1/customers",
        &json!({"name": "Dup", "customer_number": cust["customer_number"]}),
    )
    .await;
    c.delete(&format!("/v1/customers/{id}")).await;
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
