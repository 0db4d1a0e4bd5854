//! Who a rule's messages go to: users by role, a ticket's assignee, the
//! customer's contact for public comments, minus those who opted out or
//! were suspended.

use axum::http::StatusCode;
use serde_json::json;

use super::channels::{messages, user};
use super::*;

#[tokio::test]
async fn recipients_come_from_roles_assignees_and_contacts_and_users_can_opt_out() {
    let w = World::new().await;
    // Nothing listens there: the messages are made, their sending fails.
    let channel =
        w.c.create(
            "/v1/notification-channels",
            json!({"name": "Staff", "kind": "email", "email": {"host": "127.0.0.1", "port": 9,
                "from": "psa@psa.example"}}),
        )
        .await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    let anna = user(&w, "anna@msp.example", &["technician"]).await;
    let ben = user(&w, "ben@msp.example", &["technician"]).await;
    let cleo = user(&w, "cleo@msp.example", &["dispatcher"]).await;
    let contact = Uuid::now_v7();
    let now = chrono::Utc::now();
    w.event(
        "contact.created",
        json!({"id": contact, "customer_id": Uuid::now_v7(), "name": "Erika",
        "email": "erika@customer.example", "phone": null, "title": null, "is_primary": true,
        "version": 1, "created_at": now, "updated_at": now}),
    )
    .await;
    w.c.create(
        "/v1/notification-rules",
        json!({"name": "Team", "event_types": ["ticket.*"], "channel_id": channel,
            "recipients": [{"type": "role", "role": "technician"}, {"type": "ticket_assignee"},
                {"type": "customer_contact"}, {"type": "user", "user_id": anna}]}),
    )
    .await;
    // Ben opts out of tickets with his own token.
    let ben_c = w.app.client(
        w.app
            .key
            .access_token(
                psa_testkit::ISSUER,
                psa_testkit::AUDIENCE,
                w.tenant,
                &ben.to_string(),
                &[],
                600,
            )
            .unwrap(),
    );
    let prefs = ben_c
        .put(
            "/v1/users/me/notification-preferences",
            json!({"muted_event_types": ["ticket.*"]}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(prefs.body["muted_event_types"], json!(["ticket.*"]));
    assert_eq!(
        ben_c
            .get("/v1/users/me/notification-preferences")
            .await
            .body["muted_event_types"],
        json!(["ticket.*"])
    );
    ben_c
        .put(
            "/v1/users/me/notification-preferences",
            json!({"muted_event_types": ["Ticket"]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let ticket = json!({"id": Uuid::now_v7(), "number": "T-000001", "title": "VPN",
        "assignee_id": cleo.to_string(), "contact_id": contact});
    let created = w.event("ticket.created", ticket.clone()).await;
    let internal = w
        .event(
            "ticket.comment_added",
            json!({"ticket": ticket, "comment": {"visibility": "internal"}}),
        )
        .await;
    let public = w
        .event(
            "ticket.comment_added",
            json!({"ticket": ticket, "comment": {"visibility": "public"}}),
        )
        .await;
    let log = messages(&w, &channel).await;
    let to = |event: Uuid| {
        let mut r: Vec<String> = log
            .iter()
            .filter(|m| m["event_id"] == json!(event))
            .map(|m| m["recipient"].as_str().unwrap().to_owned())
            .collect();
        r.sort();
        r
    };
    assert_eq!(
        to(created),
        ["anna@msp.example", "cleo@msp.example"],
        "Ben opted out; the contact only for public comments"
    );
    assert_eq!(to(internal), ["anna@msp.example", "cleo@msp.example"]);
    assert_eq!(
        to(public),
        [
            "anna@msp.example",
            "cleo@msp.example",
            "erika@customer.example"
        ]
    );
    let anna_msg = log
        .iter()
        .find(|m| m["recipient"] == "anna@msp.example")
        .unwrap();
    assert_eq!(anna_msg["user_id"], json!(anna));
    // A suspended user is no longer a recipient.
    w.event("user.updated", json!({"id": anna, "email": "anna@msp.example", "name": "Anna", "status": "suspended",
        "roles": ["technician"], "mfa_enabled": false, "version": 2, "created_at": now, "updated_at": now}))
        .await;
    let later = w
        .event(
            "ticket.updated",
            json!({"number": "T-000001", "assignee_id": null}),
        )
        .await;
    let log = messages(&w, &channel).await;
    assert!(
        log.iter().all(|m| m["event_id"] != json!(later)),
        "nobody left to tell"
    );
}
