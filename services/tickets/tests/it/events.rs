//! Tickets' events on the bus: with no consumer bound to `ticket.*`, every
//! event still leaves the outbox (the archive stream takes every type), and
//! a reader started afterwards finds them all in the archive.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use psa_testkit::{TestApp, fixtures};
use uuid::Uuid;

use crate::caller_with_customer;

async fn pending(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from tickets.outbox where sent_at is null")
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn events_nobody_consumes_leave_the_outbox_and_stay_readable_in_the_archive() {
    let app = TestApp::spawn_with(&[psa_tickets::module()], |cfg| {
        cfg.events.enabled = true;
    })
    .await
    .unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);

    let created: Vec<_> = stream::iter(0..1000)
        .map(|_| fixtures::ticket(&c, customer))
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(created.len(), 1000);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = pending(&app).await;
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} events still pending 10 s after the last ticket"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let written: BTreeSet<Uuid> =
        sqlx::query_scalar("select id from tickets.outbox where type = 'ticket.created'")
            .fetch_all(&app.db.admin)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(written.len(), 1000);

    // A reader that starts now reads them from the archive.
    let bus = app.bus();
    let mut archived = bus
        .read_archive(since, |e| e.event_type == "ticket.created")
        .await
        .unwrap()
        .boxed();
    let mut read = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.len() < written.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, archived.next()).await {
            Ok(Some(event)) => {
                let event = event.unwrap();
                assert_eq!(event.source, "psa/tickets");
                read.insert(event.id);
            }
            _ => break,
        }
    }
    assert_eq!(
        read, written,
        "every ticket.created event, by id, is in the archive"
    );
}
