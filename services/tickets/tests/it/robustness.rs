//! Tickets under outages, pauses, hostile events, bad input and housekeeping.

use super::*;

/// With RabbitMQ unreachable, 200 tickets are created; afterwards all 200
/// `ticket.created` events arrive, with no restart.
#[tokio::test]
async fn two_hundred_tickets_through_a_broker_outage() {
    let proxy = FaultProxy::start(psa_testkit::broker::amqp_addr())
        .await
        .unwrap();
    let url = psa_testkit::broker::amqp_url_via(proxy.addr);
    let app = TestApp::spawn_with(&[psa_tickets::module()], move |cfg| {
        cfg.events.enabled = true;
        cfg.events.amqp_url = url;
        cfg.events.publish_timeout_ms = 1000;
    })
    .await
    .unwrap();
    let direct = app.bus();
    let queue = direct
        .declare_queue("test.tickets", &["ticket.created"], 5)
        .await
        .unwrap();
    let (c, customer) = caller_with_customer(&app, true).await;
    proxy.set_down(true);
    let started = Instant::now();
    for i in 0..200 {
        c.create(
            "/v1/tickets",
            json!({"title": format!("t{i}"), "customer_id": customer}),
        )
        .await;
    }
    let elapsed = started.elapsed();
    proxy.set_down(false);
    let got = psa_testkit::broker::take_n(&direct, &queue, 200, Duration::from_secs(30)).await;
    let ids: BTreeSet<Uuid> = got.iter().map(|e| e.id).collect();
    assert_eq!(
        ids.len(),
        200,
        "all arrived, none missing (created in {elapsed:?})"
    );
}

/// Leaving `waiting` moves the open due times by the business time paused.
#[tokio::test]
async fn waiting_pauses_the_clocks() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, true).await;
    let t = c
        .create(
            "/v1/tickets",
            json!({"title": "Waiting on customer", "priority": "low", "customer_id": customer}),
        )
        .await;
    let path = format!("/v1/tickets/{}", t["id"].as_str().unwrap());
    move_through(&c, &path, &["open", "in_progress", "waiting"]).await;
    // The wait began last Monday 09:00 Berlin (a fixed, long business span).
    let since = DateTime::parse_from_rfc3339("2026-11-16T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    sqlx::query("update tickets.tickets set waiting_since = $1 where id = $2")
        .bind(since)
        .bind(Uuid::parse_str(t["id"].as_str().unwrap()).unwrap())
        .execute(&app.db.admin)
        .await
        .unwrap();
    let back = move_through(&c, &path, &["in_progress"]).await;
    let cal = calendar();
    let paused = cal.between(since, at(&back["updated_at"]));
    let expected = cal.add(at(&t["resolution_due_at"]), paused);
    let moved = at(&back["resolution_due_at"]);
    assert!(
        (moved - expected).num_minutes().abs() <= 1,
        "due {moved} expected {expected} after {paused} paused minutes"
    );
    assert!(moved > at(&t["resolution_due_at"]));
}

/// A consumer handling tenant A's event works inside A's row-level security:
/// it cannot write tenant B's rows.
#[tokio::test]
async fn a_consumer_cannot_write_another_tenant_s_rows() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let rogue: psa_events::outbox::Handler = std::sync::Arc::new(move |_event, conn| {
        Box::pin(async move {
            sqlx::query("insert into tickets.customers (tenant_id, id, name, status, version) values ($1, $2, 'x', 'active', 1)")
                .bind(b)
                .bind(Uuid::now_v7())
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let consumer = psa_events::outbox::Consumer {
        bus: std::sync::Arc::new(app.bus()),
        pool: pool.clone(),
        schema: "tickets",
        queue: "unused".into(),
        handler: rogue,
    };
    let event = psa_events::CloudEvent::new(
        Uuid::now_v7(),
        "psa/crm",
        "customer.created",
        Utc::now(),
        "x",
        a,
        json!({}),
    );
    let err = consumer.handle(event).await.unwrap_err();
    assert!(err.contains("row-level security"), "{err}");
    let rows: i64 = sqlx::query_scalar("select count(*) from tickets.customers")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    let inbox: i64 = sqlx::query_scalar("select count(*) from tickets.inbox")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(
        (rows, inbox),
        (0, 0),
        "nothing written, not even the inbox record"
    );
}

/// Bad fields are 422 with every field named, on create, patch, comments
/// and time entries; nothing is written.
#[tokio::test]
async fn invalid_fields_are_named_and_nothing_is_written() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let p = c
        .post(
            "/v1/tickets",
            json!({"title": " ", "customer_id": customer, "queue": "", "tags": ["vip", "vip"]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["title", "queue", "tags"]);
    assert!(
        c.get("/v1/tickets").await.items().is_empty(),
        "nothing written"
    );

    let t = fixtures::ticket(&c, customer).await;
    let path = format!("/v1/tickets/{}", t["id"].as_str().unwrap());
    let p = c
        .patch(
            &path,
            json!({"assignee_id": "", "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["assignee_id", "tags"]);
    c.post(
        &format!("{path}/comments"),
        json!({"body": "hello", "visibility": "secret"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let p = c
        .post(
            &format!("{path}/time-entries"),
            json!({"started_at": "2026-11-23T09:00:00Z", "minutes": 0, "work_type": " "}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["minutes", "work_type"]);
    assert_eq!(
        c.get(&path).await["version"],
        t["version"],
        "the ticket is unchanged"
    );
}

/// Housekeeping keeps the inbox for 30 days (late duplicates are still
/// caught) and removes older entries, for every tenant.
#[tokio::test]
async fn housekeeping_trims_the_inbox_after_thirty_days() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    for (tenant, age) in [(Uuid::now_v7(), "31 days"), (Uuid::now_v7(), "29 days")] {
        sqlx::query(
            "insert into tickets.inbox (tenant_id, event_id, type, handled_at) values ($1, $2, 'customer.created', now() - $3::interval)",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(age)
        .execute(&app.db.admin)
        .await
        .unwrap();
    }
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    psa_db::housekeeping_once(&pool, "tickets").await.unwrap();
    let left: Vec<i32> =
        sqlx::query_scalar("select extract(day from now() - handled_at)::int from tickets.inbox")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(left, [29]);
}
