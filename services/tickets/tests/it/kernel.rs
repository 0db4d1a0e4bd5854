//! What the module kernel brings to tickets: time entries publish their
//! corrections and removals, a PATCH that changes nothing leaves no trace,
//! every list and sub-list pages with cursors that cannot be forged, and
//! every POST honours `Idempotency-Key`.

use psa_testkit::{TestApp, cursors, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PERMS, caller_with_customer};

/// (type, subject) of every outbox row, oldest first.
async fn events(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("select type, subject from tickets.outbox order by created_at, id")
        .fetch_all(&app.db.admin)
        .await
        .unwrap()
}

async fn payload_of(app: &TestApp, event_type: &str) -> Value {
    sqlx::query_scalar("select payload from tickets.outbox where type = $1")
        .bind(event_type)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

fn entry_body(minutes: u32) -> Value {
    json!({"started_at": "2026-11-23T09:00:00Z", "minutes": minutes})
}

#[tokio::test]
async fn time_entries_publish_corrections_and_removals() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let ticket = fixtures::ticket(&c, customer).await;
    let logged = c
        .post(
            &format!(
                "/v1/tickets/{}/time-entries",
                ticket["id"].as_str().unwrap()
            ),
            entry_body(30),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let path = logged.location().expect("a Location").to_owned();
    assert_eq!(logged.etag(), Some("\"1\""));
    let id = logged.id();

    let fixed = c
        .patch_if_match(&path, "\"1\"", json!({"minutes": 35}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(fixed.etag(), Some("\"2\""));
    assert_eq!(payload_of(&app, "time_entry.updated").await["minutes"], 35);

    let before = events(&app).await;
    let same = c
        .patch(&path, json!({"minutes": 35, "billable": true}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(same["version"], 2, "no new version");
    assert_eq!(events(&app).await, before, "no event");

    let (_, reader) = app.new_tenant(&["tickets:read"]);
    reader
        .delete(&path)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    c.delete_if_match(&path, "\"1\"")
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    c.delete_if_match(&path, "\"2\"")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    c.get(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let deleted = payload_of(&app, "time_entry.deleted").await;
    assert_eq!(
        (deleted["id"].as_str(), deleted["minutes"].as_i64()),
        (Some(id.to_string().as_str()), Some(35)),
        "the entry as it was"
    );
    c.delete(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let billed = c
        .create(
            &format!(
                "/v1/tickets/{}/time-entries",
                ticket["id"].as_str().unwrap()
            ),
            entry_body(10),
        )
        .await;
    sqlx::query("update tickets.time_entries set billed_at = now() where id = $1")
        .bind(psa_testkit::id_of(&billed))
        .execute(&app.db.admin)
        .await
        .unwrap();
    let billed_path = format!("/v1/time-entries/{}", billed["id"].as_str().unwrap());
    c.delete(&billed_path)
        .await
        .assert_problem(StatusCode::CONFLICT, "time_entry_billed");
    c.get(&billed_path).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_ticket_patch_that_changes_nothing_makes_no_version_and_no_event() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let t = fixtures::ticket(&c, customer).await;
    let path = format!("/v1/tickets/{}", t["id"].as_str().unwrap());
    let before = events(&app).await;
    let same = c
        .patch_if_match(
            &path,
            "\"1\"",
            json!({"title": t["title"], "status": "new", "tags": []}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(same.etag(), Some("\"1\""));
    assert_eq!(same.body, t);
    assert_eq!(events(&app).await, before);
    let changed = c
        .patch(&path, json!({"assignee_id": "tech-1"}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(changed["version"], 2);
    let types: Vec<String> = events(&app).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types,
        ["ticket.created", "ticket.updated", "ticket.assigned"]
    );
}

#[tokio::test]
async fn comment_and_time_entry_sub_lists_page_with_cursors() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let ticket = fixtures::ticket(&c, customer).await;
    let other = fixtures::ticket(&c, customer).await;
    let base = format!("/v1/tickets/{}", ticket["id"].as_str().unwrap());
    for i in 0..3 {
        c.create(
            &format!("{base}/comments"),
            json!({"body": format!("note {i}")}),
        )
        .await;
        c.create(&format!("{base}/time-entries"), entry_body(10 + i))
            .await;
    }
    c.create(
        &format!("/v1/tickets/{}/comments", other["id"].as_str().unwrap()),
        json!({"body": "elsewhere"}),
    )
    .await;

    let first = c
        .get(&format!("{base}/comments?limit=2"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(first.items().len(), 2);
    assert!(first.next_cursor().is_some());
    let bodies: Vec<Value> = c
        .all(&format!("{base}/comments?limit=1"))
        .await
        .into_iter()
        .map(|n| n["body"].clone())
        .collect();
    assert_eq!(bodies, ["note 0", "note 1", "note 2"]);
    let minutes: Vec<Value> = c
        .all(&format!("{base}/time-entries?limit=2"))
        .await
        .into_iter()
        .map(|e| e["minutes"].clone())
        .collect();
    assert_eq!(minutes, [10, 11, 12]);
    assert_eq!(
        c.get(&format!(
            "{base}/comments?updated_since=2000-01-01T00:00:00Z"
        ))
        .await
        .assert_status(StatusCode::OK)
        .items()
        .len(),
        3,
        "a comment counts as changed when it was written"
    );

    let unknown = format!("/v1/tickets/{}", Uuid::now_v7());
    let (_, stranger) = app.new_tenant(PERMS);
    for sub in ["comments", "time-entries"] {
        c.get(&format!("{unknown}/{sub}"))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        stranger
            .get(&format!("{base}/{sub}"))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn forged_cursors_are_400_on_every_list_and_sort() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let ticket = fixtures::ticket(&c, customer).await;
    fixtures::ticket(&c, customer).await;
    let base = format!("/v1/tickets/{}", ticket["id"].as_str().unwrap());
    for i in 0..2 {
        c.create(
            &format!("{base}/comments"),
            json!({"body": format!("note {i}")}),
        )
        .await;
        c.create(&format!("{base}/time-entries"), entry_body(10))
            .await;
    }
    let mut covered = Vec::new();
    for path in [
        "/v1/tickets".to_owned(),
        "/v1/time-entries".to_owned(),
        format!("{base}/comments"),
        format!("{base}/time-entries"),
    ] {
        for sort in cursors::refuses_forgeries_on_every_sort(&c, &path).await {
            covered.push(format!("{path} {sort}"));
        }
    }
    assert!(
        covered.contains(&"/v1/tickets -updated_at".to_owned())
            && covered.contains(&"/v1/tickets number".to_owned())
            && covered.contains(&format!("{base}/comments -id")),
        "{covered:?}"
    );
}

#[tokio::test]
async fn every_post_honours_idempotency_key() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let ticket = fixtures::ticket(&c, customer).await;
    let base = format!("/v1/tickets/{}", ticket["id"].as_str().unwrap());
    for (path, body) in [
        ("/v1/tickets".to_owned(), fixtures::ticket_body(customer)),
        (format!("{base}/comments"), json!({"body": "once"})),
        (format!("{base}/time-entries"), entry_body(15)),
    ] {
        let key = Uuid::now_v7().to_string();
        let first = c
            .post_idem(&path, &key, &body)
            .await
            .assert_status(StatusCode::CREATED);
        let again = c
            .post_idem(&path, &key, &body)
            .await
            .assert_status(StatusCode::CREATED);
        assert_eq!(again.body, first.body, "{path}: replayed");
        c.post_idem(&path, &key, json!({"title": "other"}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let created: Vec<String> = events(&app)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t != "ticket.updated")
        .collect();
    assert_eq!(
        created,
        [
            "ticket.created",
            "ticket.created",
            "ticket.comment_added",
            "time_entry.logged"
        ],
        "each POST took effect once"
    );
}
