//! Housekeeping: rows past their use go, for every tenant, through the
//! module's own (non-superuser, RLS-bound) role; nothing still needed goes.

use psa_testkit::TestApp;
use uuid::Uuid;

#[tokio::test]
async fn old_keys_and_published_events_go_pending_and_fresh_ones_stay() {
    let app = TestApp::spawn(&[psa_crm::module()]).await.unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    for tenant in [a, b] {
        for (key, age) in [("old", "25 hours"), ("fresh", "1 hour")] {
            sqlx::query(
                "insert into crm.idempotency_keys (tenant_id, key, request_hash, status, headers, created_at)
                 values ($1, $2, 'h', 201, '{}', now() - $3::interval)",
            )
            .bind(tenant)
            .bind(key)
            .bind(age)
            .execute(&app.db.admin)
            .await
            .unwrap();
        }
        // Published long ago, published lately, and never published (old).
        for (subject, created, sent) in [
            ("gone", "9 days", Some("8 days")),
            ("recent", "2 days", Some("2 days")),
            ("pending", "9 days", None),
        ] {
            sqlx::query(
                "insert into crm.outbox (tenant_id, id, type, subject, payload, created_at, sent_at)
                 values ($1, $2, 'customer.created', $3, '{}', now() - $4::interval, now() - $5::interval)",
            )
            .bind(tenant)
            .bind(Uuid::now_v7())
            .bind(subject)
            .bind(created)
            .bind(sent)
            .execute(&app.db.admin)
            .await
            .unwrap();
        }
    }
    // The module's role, as the running module does it (its own background
    // round may have taken some rows already: the end state is what counts).
    let pool = app.db.module_pool(&psa_crm::module()).unwrap();
    let deleted = psa_db::housekeeping_once(&pool, "crm").await.unwrap();
    assert!(
        deleted["idempotency_keys"].is_u64() && deleted["outbox"].is_u64(),
        "{deleted}"
    );

    let keys: Vec<String> = sqlx::query_scalar("select key from crm.idempotency_keys order by key")
        .fetch_all(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(keys, ["fresh", "fresh"]);
    let kept: Vec<String> = sqlx::query_scalar("select subject from crm.outbox order by subject")
        .fetch_all(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(kept, ["pending", "pending", "recent", "recent"]);
    let again = psa_db::housekeeping_once(&pool, "crm").await.unwrap();
    assert_eq!(again["idempotency_keys"], 0, "nothing left to take");
    assert_eq!(again["outbox"], 0, "nothing left to take");
}
