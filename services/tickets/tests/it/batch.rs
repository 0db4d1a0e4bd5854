//! Batch reads (API.md, Collections): tickets, comments and time entries
//! of many parents in one request, `limit` of each with `per`.

use psa_testkit::{TestApp, batch, id_of};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::{PERMS, project};

#[tokio::test]
async fn lists_read_the_children_of_many_parents_at_once() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (tenant, c) = app.new_tenant(PERMS);
    let customers = [
        project(&app, tenant, false).await,
        project(&app, tenant, false).await,
    ];
    let contacts = [Uuid::now_v7(), Uuid::now_v7()];
    let mut tickets = Vec::new();
    for i in 0..3 {
        for (customer, contact) in customers.iter().zip(contacts) {
            let body = json!({"title": format!("Ticket {i}"), "customer_id": customer,
                "contact_id": contact});
            tickets.push(id_of(&c.create("/v1/tickets", body).await));
        }
    }
    batch::reads_per_parent(&c, "/v1/tickets", "customer_id", customers, 2).await;
    batch::reads_per_parent(&c, "/v1/tickets", "contact_id", contacts, 2).await;

    let pair = [tickets[0], tickets[1]];
    for ticket in pair {
        for i in 0..3 {
            c.create(
                &format!("/v1/tickets/{ticket}/comments"),
                json!({"body": format!("note {i}")}),
            )
            .await;
            c.create(
                &format!("/v1/tickets/{ticket}/time-entries"),
                json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 10 + i}),
            )
            .await;
        }
    }
    batch::reads_per_parent(&c, "/v1/ticket-comments", "ticket_id", pair, 2).await;
    batch::reads_per_parent(&c, "/v1/time-entries", "ticket_id", pair, 2).await;

    // The comments after one another component knows, by its id.
    let comments = format!("/v1/ticket-comments?ticket_id={}", pair[0]);
    let all = c.all(&comments).await;
    let after_first = psa_http::keyset::id_cursor(false, id_of(&all[0]));
    let rest = c
        .get(&format!("{comments}&cursor={after_first}"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(rest.items()[..], all[1..]);

    c.get("/v1/ticket-comments")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    c.get(&format!("/v1/tickets/{}/comments?per=ticket_id", pair[0]))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_per");
    let (_, stranger) = app.new_tenant(PERMS);
    let theirs = stranger
        .get(&format!(
            "/v1/ticket-comments?ticket_id={},{}",
            pair[0], pair[1]
        ))
        .await
        .assert_status(StatusCode::OK);
    assert!(
        theirs.items().is_empty(),
        "another tenant's tickets have none"
    );
}
