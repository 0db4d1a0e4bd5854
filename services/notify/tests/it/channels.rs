//! Notification channels against real peers: an SMTP server (aiosmtpd,
//! STARTTLS and AUTH required), Teams- and Twilio-shaped HTTP stand-ins;
//! the per-recipient cap and its digest; what channels and rules accept.

use axum::http::StatusCode;
use psa_testkit::peers::SmtpServer;
use serde_json::json;

use super::*;

pub(crate) async fn messages(w: &World, channel: &str) -> Vec<Value> {
    w.c.all(&format!("/v1/notification-channels/{channel}/messages"))
        .await
}

async fn email_channel(w: &World, smtp: &SmtpServer, password: &str) -> String {
    let channel =
        w.c.create(
            "/v1/notification-channels",
            json!({"name": "Alerts", "kind": "email", "secret": password, "email": {
                "host": "localhost", "port": smtp.port, "security": "starttls", "username": "psa",
                "from": "alerts@psa.example", "from_name": "PSA Alerts",
                "ca_certificate": smtp.ca_pem}}),
        )
        .await;
    assert!(channel.get("secret").is_none());
    assert_eq!(channel["has_secret"], true);
    channel["id"].as_str().unwrap().to_owned()
}

/// A user as auth publishes it.
pub(crate) async fn user(w: &World, email: &str, roles: &[&str]) -> Uuid {
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    w.event(
        "user.created",
        json!({"id": id, "email": email, "name": email, "status": "active",
        "roles": roles, "mfa_enabled": false, "version": 1, "created_at": now, "updated_at": now}),
    )
    .await;
    id
}

#[tokio::test]
async fn a_rule_s_e_mail_reaches_an_smtp_server_over_starttls_with_auth() {
    let w = World::new().await;
    let smtp = SmtpServer::start("psa", "s3cret pass").await;
    let channel = email_channel(&w, &smtp, "s3cret pass").await;
    w.c.create(
        "/v1/notification-rules",
        json!({"name": "New tickets", "event_types": ["ticket.created"], "channel_id": channel,
            "recipients": [{"type": "address", "address": "ops@customer.example"}],
            "subject_template": "New ticket {{ data.number }}: {{ data.title }}",
            "html_template": "<p>Ticket <b>{{ data.number }}</b>: {{ data.title }}</p>"}),
    )
    .await;
    w.event(
        "ticket.created",
        json!({"number": "T-000042", "title": "Printer <down>"}),
    )
    .await;
    w.event("invoice.released", json!({"number": "2026-00001"}))
        .await;
    let got = smtp.wait_for(1).await;
    let mail = &got[0];
    assert_eq!(mail["mail_from"], "alerts@psa.example");
    assert_eq!(mail["rcpt_tos"], json!(["ops@customer.example"]));
    assert_eq!(mail["auth_user"], "psa");
    assert_eq!(mail["tls"], true);
    let data = mail["data"].as_str().unwrap();
    for expected in [
        "Subject: New ticket T-000042: Printer <down>",
        "Auto-Submitted: auto-generated",
        "Message-ID: <",
        "PSA Alerts",
        "<alerts@psa.example>",
        "multipart/alternative",
        "Content-Type: text/plain",
        "Content-Type: text/html",
        "<p>Ticket <b>T-000042</b>: Printer &lt;down&gt;</p>",
        "ticket.created at",
    ] {
        assert!(data.contains(expected), "{expected:?} missing from\n{data}");
    }
    let log = eventually("the message logged as sent", || async {
        let log = messages(&w, &channel).await;
        (log.len() == 1 && log[0]["state"] == "sent").then_some(log)
    })
    .await;
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["recipient"], "ops@customer.example");
    assert_eq!(smtp.messages().len(), 1, "the invoice matched no rule");

    // A wrong password: refused by the server, retried, then dead.
    let wrong = email_channel(&w, &smtp, "wrong").await;
    w.c.create(
        "/v1/notification-rules",
        json!({"name": "Wrong", "event_types": ["ticket.*"], "channel_id": wrong,
            "recipients": [{"type": "address", "address": "ops@customer.example"}]}),
    )
    .await;
    w.event(
        "ticket.updated",
        json!({"number": "T-000042", "title": "x"}),
    )
    .await;
    let log = eventually("the message dead", || async {
        let log = messages(&w, &wrong).await;
        (log.len() == 1 && log[0]["state"] == "dead").then_some(log)
    })
    .await;
    assert_eq!(log[0]["attempts"], 4);
    let id = log[0]["id"].as_str().unwrap();
    let detail =
        w.c.get(&format!("/v1/notification-channels/{wrong}/messages/{id}"))
            .await
            .assert_status(StatusCode::OK);
    let tries = detail.body["attempts_made"].as_array().unwrap();
    assert_eq!(tries.len(), 4);
    assert!(tries.iter().all(|t| t["outcome"] == "failed"), "{tries:?}");
    assert!(
        tries[0]["detail"].as_str().unwrap().starts_with("535"),
        "{tries:?}"
    );
    w.c.get(&format!(
        "/v1/notification-channels/{channel}/messages/{id}"
    ))
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // No rule of the tenant's for webhook.disabled: its admins hear of it
    // by its (oldest) e-mail channel.
    user(&w, "admin@msp.example", &["admin"]).await;
    w.event(
        "webhook.disabled",
        json!({"webhook": {"id": Uuid::now_v7(), "url": "https://hooks.example/x"},
            "reason": "the endpoint answered 410 Gone"}),
    )
    .await;
    let got = smtp.wait_for(2).await;
    let told = got
        .iter()
        .find(|m| m["rcpt_tos"] == json!(["admin@msp.example"]))
        .expect("the admin was told");
    let data = told["data"].as_str().unwrap();
    assert!(
        data.contains("Subject: A webhook subscription was disabled: https://hooks.example/x"),
        "{data}"
    );
    assert!(data.contains("410 Gone"), "{data}");
    assert!(
        log[0]["last_error"].as_str().unwrap().contains("SMTP"),
        "{}",
        log[0]["last_error"]
    );
}

#[tokio::test]
async fn teams_and_sms_stand_ins_receive_a_card_and_a_form_post() {
    let w = World::new().await;
    let r = Receiver::start().await;
    r.script("/teams", json!([]), json!({"status": 202})).await;
    r.script(
        "/2010-04-01/Accounts/AC0123/Messages.json",
        json!([]),
        json!({"status": 201, "body": "{\"sid\": \"SM1\"}"}),
    )
    .await;
    let teams = w
        .c
        .create(
            "/v1/notification-channels",
            json!({"name": "Dispatch", "kind": "teams", "teams": {"webhook_url": r.endpoint("/teams")}}),
        )
        .await;
    let sms =
        w.c.create(
            "/v1/notification-channels",
            json!({"name": "On call", "kind": "sms", "secret": "twilio-token",
                "sms": {"base_url": r.url, "account_sid": "AC0123", "from": "+15005550006"}}),
        )
        .await;
    for (channel, recipients) in [
        (&teams, json!([])),
        (&sms, json!([{"type": "phone", "number": "+4915112345678"}])),
    ] {
        w.c.create(
            "/v1/notification-rules",
            json!({"name": "SLA", "event_types": ["ticket.sla_breached"], "channel_id": channel["id"],
                "recipients": recipients}),
        )
        .await;
    }
    w.event(
        "ticket.sla_breached",
        json!({"kind": "response", "ticket": {"number": "T-000007", "title": "Mail down"}}),
    )
    .await;

    let card = r.wait_for("/teams", 1).await;
    assert_eq!(card[0]["content_type"], "application/json");
    let body: Value = serde_json::from_str(card[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let content = &attachment["content"];
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(content["version"], "1.4");
    assert_eq!(
        content["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert!(
        content["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("ticket.sla_breached")
    );
    assert_eq!(content["body"][0]["type"], "TextBlock");

    let post = r
        .wait_for("/2010-04-01/Accounts/AC0123/Messages.json", 1)
        .await;
    assert_eq!(post[0]["content_type"], "application/x-www-form-urlencoded");
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "AC0123:twilio-token"
        )
    );
    assert_eq!(post[0]["authorization"], json!(expected));
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(post[0]["body"].as_str().unwrap().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["To"], "+4915112345678");
    assert_eq!(form["From"], "+15005550006");
    assert!(
        form["Body"].contains("ticket.sla_breached"),
        "{}",
        form["Body"]
    );
    let log = eventually("both logged as sent", || async {
        let a = messages(&w, teams["id"].as_str().unwrap()).await;
        let b = messages(&w, sms["id"].as_str().unwrap()).await;
        (a.first().is_some_and(|m| m["state"] == "sent")
            && b.first().is_some_and(|m| m["state"] == "sent"))
        .then_some((a, b))
    })
    .await;
    assert_eq!(log.0[0]["recipient"], "teams");
    assert_eq!(log.1[0]["recipient"], "+4915112345678");
}

#[tokio::test]
async fn a_flood_is_capped_per_recipient_and_folded_into_one_digest() {
    let app = TestApp::spawn_with(&[psa_notify::module()], |cfg| {
        fast(cfg);
        cfg.notify.recipient_cap = 3;
    })
    .await
    .unwrap();
    let w = World::with(app);
    let r = Receiver::start().await;
    let channel = w
        .c
        .create(
            "/v1/notification-channels",
            json!({"name": "Dispatch", "kind": "teams", "teams": {"webhook_url": r.endpoint("/flood")}}),
        )
        .await;
    let id = channel["id"].as_str().unwrap().to_owned();
    w.c.create(
        "/v1/notification-rules",
        json!({"name": "All", "event_types": ["*"], "channel_id": id}),
    )
    .await;
    for i in 0..8 {
        w.event("ticket.created", json!({"number": format!("T-{i}")}))
            .await;
    }
    let log = messages(&w, &id).await;
    let held = log.iter().filter(|m| m["state"] == "held").count();
    assert_eq!(held, 5, "three sent, five held");
    assert_eq!(
        psa_notify::workers::digest_once(&w.store()).await.unwrap(),
        5
    );
    assert_eq!(
        psa_notify::workers::digest_once(&w.store()).await.unwrap(),
        0
    );
    let got = r.wait_for("/flood", 4).await;
    let digest = got
        .iter()
        .map(|d| serde_json::from_str::<Value>(d["body"].as_str().unwrap()).unwrap())
        .find(|b| b["attachments"][0]["content"]["body"][0]["text"] == "5 notifications")
        .expect("one digest of the five");
    let text = digest["attachments"][0]["content"]["body"][1]["text"]
        .as_str()
        .unwrap();
    for i in 3..8 {
        assert!(text.contains(&format!("T-{i}")), "{text}");
    }
    let log = messages(&w, &id).await;
    assert_eq!(log.iter().filter(|m| m["state"] == "digested").count(), 5);
}

#[tokio::test]
async fn channels_and_rules_are_checked_and_the_tenant_s_own() {
    let w = World::with(TestApp::spawn(&[psa_notify::module()]).await.unwrap());
    for (body, field, code) in [
        (
            json!({"name": "T", "kind": "teams", "teams": {"webhook_url": "https://127.0.0.1/x"}}),
            "teams.webhook_url",
            "address_not_allowed",
        ),
        (
            json!({"name": "T", "kind": "teams", "teams": {"webhook_url": "http://93.184.215.14/x"}}),
            "teams.webhook_url",
            "insecure_scheme",
        ),
        (
            json!({"name": "E", "kind": "email", "email": {"host": "10.0.0.5", "from": "a@b.example"}}),
            "email.host",
            "address_not_allowed",
        ),
        (
            json!({"name": "E", "kind": "email", "email": {"host": "93.184.215.14", "from": "a@b.example", "security": "none"}}),
            "email.security",
            "insecure_scheme",
        ),
        (
            json!({"name": "S", "kind": "sms", "sms": {"base_url": "https://169.254.169.254", "account_sid": "AC1", "from": "+15005550006"}}),
            "sms.base_url",
            "address_not_allowed",
        ),
        (
            json!({"name": "T", "kind": "teams", "sms": {"account_sid": "AC1", "from": "+15005550006"}}),
            "teams",
            "missing",
        ),
        (
            json!({"name": "E", "kind": "email", "email": {"host": "93.184.215.14", "from": "not an address"}}),
            "email.from",
            "invalid",
        ),
    ] {
        let res =
            w.c.post("/v1/notification-channels", &body)
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], field, "{body}");
        assert_eq!(res.body["errors"][0]["code"], code, "{body}");
    }
    let teams = w
        .c
        .create(
            "/v1/notification-channels",
            json!({"name": "T", "kind": "teams", "teams": {"webhook_url": "https://93.184.215.14/hook"}}),
        )
        .await;
    let email = w
        .c
        .create(
            "/v1/notification-channels",
            json!({"name": "E", "kind": "email", "secret": "pw", "email": {"host": "93.184.215.14", "from": "a@b.example"}}),
        )
        .await;
    let rule = |channel: &Value, recipients: Value| json!({"name": "R", "event_types": ["ticket.*"], "channel_id": channel["id"], "recipients": recipients});
    for (body, field, code) in [
        (
            rule(&teams, json!([{"type": "role", "role": "x"}])),
            "recipients[0]",
            "incompatible",
        ),
        (
            rule(
                &email,
                json!([{"type": "phone", "number": "+4915112345678"}]),
            ),
            "recipients[0]",
            "incompatible",
        ),
        (
            rule(&json!({"id": Uuid::now_v7()}), json!([])),
            "channel_id",
            "not_found",
        ),
        (
            json!({"name": "R", "event_types": ["ticket.*"], "channel_id": email["id"], "subject_template": "{% for %}"}),
            "subject_template",
            "invalid_template",
        ),
    ] {
        let res =
            w.c.post("/v1/notification-rules", &body)
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], field, "{body}");
        assert_eq!(res.body["errors"][0]["code"], code, "{body}");
    }
    let r =
        w.c.create(
            "/v1/notification-rules",
            rule(&email, json!([{"type": "role", "role": "technician"}])),
        )
        .await;
    let email_id = email["id"].as_str().unwrap();
    // The secret changes without being shown; a rule keeps the channel in use.
    let changed =
        w.c.patch(
            &format!("/v1/notification-channels/{email_id}"),
            json!({"secret": null, "name": "E2"}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(changed.body["has_secret"], false);
    assert_eq!(changed.body["name"], "E2");
    w.c.delete(&format!("/v1/notification-channels/{email_id}"))
        .await
        .assert_problem(StatusCode::CONFLICT, "channel_in_use");
    let (_, other) = w.app.new_tenant(PERMS);
    let rule_id = r["id"].as_str().unwrap();
    for res in [
        other
            .get(&format!("/v1/notification-channels/{email_id}"))
            .await,
        other
            .get(&format!("/v1/notification-rules/{rule_id}"))
            .await,
        other
            .get(&format!("/v1/notification-channels/{email_id}/messages"))
            .await,
        other
            .delete(&format!("/v1/notification-rules/{rule_id}"))
            .await,
    ] {
        res.assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    assert!(other.all("/v1/notification-channels").await.is_empty());
    // A rule naming the other tenant's channel: no such channel there.
    other
        .post("/v1/notification-rules", rule(&email, json!([])))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    w.c.delete(&format!("/v1/notification-rules/{rule_id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    w.c.delete(&format!("/v1/notification-channels/{email_id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
}
