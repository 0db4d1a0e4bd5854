//! The relay and consumers under failure: a crash window, poison messages, relays side by side.

use super::*;

/// A relay that dies after the broker's ack but before marking the row sent
/// publishes again; the consumer's inbox makes the effect happen once.
#[tokio::test]
async fn the_crash_window_republishes_and_the_inbox_applies_once() {
    let app = TestApp::spawn(&[psa_crm::module()]).await.unwrap();
    test_consumer_tables(&app).await;
    let bus = Arc::new(app.bus());
    let queue = bus
        .declare_queue("test.crash", &["customer.*"], 5)
        .await
        .unwrap();
    fixtures::customer(&caller(&app), "Crash window").await;

    let relay = Relay {
        batch: 10,
        ..psa_crm::relay(
            app.db.module_pool(&psa_crm::module()).unwrap(),
            bus.clone(),
            &app.config.events,
        )
    };
    relay.crash_after_ack.store(true, Ordering::SeqCst);
    assert!(matches!(relay.run_once().await, Err(RelayError::Crashed)));
    assert_eq!(pending(&app).await, 1, "not marked: the crash came first");
    relay.crash_after_ack.store(false, Ordering::SeqCst);
    assert_eq!(relay.run_once().await.unwrap().sent, 1);
    assert_eq!(pending(&app).await, 0);

    let got = take_n(&bus, &queue, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "published twice");
    assert_eq!(got[0].id, got[1].id, "the same event both times");
    let consumer = Consumer {
        bus: bus.clone(),
        pool: app.db.admin.clone(),
        schema: "evtest",
        queue: queue.clone(),
        handler: record_effect(),
    };
    for event in got {
        consumer.handle(event).await.unwrap();
    }
    let effects: i64 = sqlx::query_scalar("select count(*) from evtest.effects")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(effects, 1, "applied once");
}

/// A message that always fails goes to the dead-letter queue after the
/// delivery limit; the others keep flowing.
#[tokio::test]
async fn poison_messages_end_in_the_dead_letter_queue() {
    let app = TestApp::spawn(&[psa_crm::module()]).await.unwrap();
    test_consumer_tables(&app).await;
    let bus = Arc::new(app.bus());
    let queue = bus
        .declare_queue("test.poison", &["test.#"], 2)
        .await
        .unwrap();
    let tenant = Uuid::now_v7();
    let event = |subject: &str| {
        CloudEvent::new(
            Uuid::now_v7(),
            "psa/test",
            "test.thing",
            chrono::Utc::now(),
            subject,
            tenant,
            json!({}),
        )
    };
    for subject in ["good-1", "poison", "good-2"] {
        bus.publish(&event(subject)).await.unwrap();
    }
    let consumer = Consumer {
        bus: bus.clone(),
        pool: app.db.admin.clone(),
        schema: "evtest",
        queue,
        handler: record_effect(),
    };
    let worker = tokio::spawn(async move { consumer.run().await });

    let dlq = bus.dead_letter_exchange();
    let dead = take_n(&bus, &dlq, 1, Duration::from_secs(20)).await;
    worker.abort();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].subject, "poison");
    let subjects: Vec<String> =
        sqlx::query_scalar("select subject from evtest.effects order by subject")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        subjects,
        ["good-1", "good-2"],
        "the other messages were handled"
    );
}

/// Two relays over one outbox never publish a row twice (SKIP LOCKED claims).
#[tokio::test]
async fn concurrent_relays_publish_each_row_once() {
    let app = TestApp::spawn(&[psa_crm::module()]).await.unwrap();
    let bus = Arc::new(app.bus());
    let queue = bus
        .declare_queue("test.relays", &["customer.*"], 3)
        .await
        .unwrap();
    let c = caller(&app);
    for i in 0..60 {
        fixtures::customer(&c, &format!("r{i}")).await;
    }
    let pool = app.db.module_pool(&psa_crm::module()).unwrap();
    let relay = |pool| Relay {
        batch: 7,
        ..psa_crm::relay(pool, bus.clone(), &app.config.events)
    };
    let (a, b) = (relay(pool.clone()), relay(pool));
    while pending(&app).await > 0 {
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        ra.unwrap();
        rb.unwrap();
    }
    let got = take_n(&bus, &queue, 60, Duration::from_secs(10)).await;
    let extra = take_n(&bus, &queue, 1, Duration::from_millis(300)).await;
    let ids: BTreeSet<Uuid> = got.iter().map(|e| e.id).collect();
    assert_eq!((got.len() + extra.len(), ids.len()), (60, 60));
}
