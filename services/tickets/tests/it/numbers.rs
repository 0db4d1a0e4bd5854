//! Ticket numbers: per tenant, unique and increasing, and drawn without
//! one creation waiting for another's commit.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use psa_kernel::{Store, Tx};
use psa_testkit::{TestApp, fixtures};
use uuid::Uuid;

use crate::caller_with_customer;

fn number_of(ticket: &serde_json::Value) -> i64 {
    let n = ticket["number"].as_str().unwrap();
    n.strip_prefix("T-").unwrap().parse().unwrap()
}

#[tokio::test]
async fn concurrent_creations_in_one_tenant_get_unique_increasing_numbers() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let (c, customer) = caller_with_customer(&app, false).await;

    let created = join_all((0..40).map(|_| fixtures::ticket(&c, customer))).await;
    let numbers: BTreeSet<i64> = created.iter().map(number_of).collect();
    assert_eq!(numbers.len(), 40, "every number once: {numbers:?}");
    assert!(
        created
            .iter()
            .all(|t| t["number"].as_str().unwrap().len() == "T-000001".len()),
        "readable, zero-padded"
    );

    let next = number_of(&fixtures::ticket(&c, customer).await);
    assert!(
        next > *numbers.last().unwrap(),
        "a later ticket gets a greater number"
    );

    // Another tenant counts from 1.
    let (other, other_customer) = caller_with_customer(&app, false).await;
    assert_eq!(
        fixtures::ticket(&other, other_customer).await["number"],
        "T-000001"
    );
}

#[tokio::test]
async fn a_number_is_drawn_while_another_transaction_of_the_tenant_is_open() {
    let app = TestApp::spawn(&[psa_tickets::module()]).await.unwrap();
    let pool = app.db.module_pool(&psa_tickets::module()).unwrap();
    let store = Store::new(pool, psa_tickets::DB.schema);
    let tenant = Uuid::now_v7();

    let first = Tx::for_tenant(&store, tenant).await.unwrap();
    let n1 = first.next_number("ticket").await.unwrap();
    // `first` is still open: a counter locked until its commit would keep
    // the second draw waiting for ever (the deadline only turns that into
    // a failure).
    let second = Tx::for_tenant(&store, tenant).await.unwrap();
    let n2 = tokio::time::timeout(Duration::from_secs(20), second.next_number("ticket"))
        .await
        .expect("the second draw does not wait for the first transaction")
        .unwrap();
    assert_eq!(n2, n1 + 1);

    // The first transaction rolls back: its number is skipped, not reused.
    drop(first);
    second.commit().await.unwrap();
    let third = Tx::for_tenant(&store, tenant).await.unwrap();
    assert_eq!(third.next_number("ticket").await.unwrap(), n2 + 1);

    // The counter is the tenant's row, under row-level security; the
    // function leaves a transaction's tenant as it was, even when called
    // in one for another tenant.
    let mut third = third;
    let other: i64 = sqlx::query_scalar("select tickets.next_number($1, 'ticket')")
        .bind(Uuid::now_v7())
        .fetch_one(&mut *third)
        .await
        .unwrap();
    assert_eq!(other, 1);
    let seen: Option<String> = sqlx::query_scalar("select current_setting('app.tenant_id', true)")
        .fetch_one(&mut *third)
        .await
        .unwrap();
    assert_eq!(seen, Some(tenant.to_string()));
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select name, last_value from tickets.number_sequences")
            .fetch_all(&mut *third)
            .await
            .unwrap();
    assert_eq!(rows, vec![("ticket".to_owned(), n2 + 1)]);
}
