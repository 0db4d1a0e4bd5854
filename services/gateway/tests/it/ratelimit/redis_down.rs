//! Rate limits without Redis, and requests checked together.

use super::*;

#[tokio::test]
async fn redis_down_local_mode_keeps_limiting_then_resumes() {
    let (app, proxy, t) = with_redis_down(FailMode::Local, |_, _| {}).await;
    let reader = app.client_for(t, &["customers:read"]);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(get(&reader).await.status);
    }
    assert!(
        statuses.iter().all(|s| !s.is_server_error()),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "the local limiter limits: {statuses:?}"
    );

    // Back: the shared limit resumes by itself within 5 s. An allowed request
    // that reaches Redis moves the key's expiry further out.
    let key = format!(
        "{}{{{t}}}:user:test-user",
        app.config.gateway.rate_limit.key_prefix
    );
    let mut conn = redis().await;
    proxy.set_down(false);
    let started = Instant::now();
    loop {
        let before: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let status = get(&reader).await.status;
        let after: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if status == StatusCode::OK && after > before {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the shared limit did not resume within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The per-process limiter keeps a tenant's ceiling too.
#[tokio::test]
async fn redis_down_local_mode_keeps_the_tenant_ceiling() {
    let (app, _proxy, t) = with_redis_down(FailMode::Local, |cfg, t| {
        cfg.gateway
            .rate_limit
            .tenant_ceilings
            .insert(t.to_string(), 3);
    })
    .await;
    let users: Vec<Client> = (0..4)
        .map(|i| token(&app, t, &format!("u{i}"), "psa-web"))
        .collect();
    // The per-process ceiling starts whole: three pass, then none of the tenant.
    for user in &users[..3] {
        let res = get(user).await.assert_status(StatusCode::OK);
        assert_eq!(applied(&res).0, "tenant");
    }
    let refused = get(&users[3])
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(applied(&refused), ("tenant".into(), 3, 0));
    // Another tenant is not slowed.
    let other = app.client_for(Uuid::now_v7(), &["customers:read"]);
    assert_eq!(
        applied(&get(&other).await.assert_status(StatusCode::OK)),
        ("default".into(), 5, 4)
    );
}

#[tokio::test]
async fn redis_down_open_mode_passes() {
    let (app, _proxy, t) = with_redis_down(FailMode::Open, |_, _| {}).await;
    let reader = app.client_for(t, &["customers:read"]);
    for _ in 0..8 {
        get(&reader).await.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn redis_down_closed_mode_refuses_with_503() {
    let (app, _proxy, t) = with_redis_down(FailMode::Closed, |_, _| {}).await;
    let res = get(&app.client_for(t, &["customers:read"]))
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(res.header("retry-after").is_some());
}

/// Requests queued together are checked in one script call per tenant, in
/// order, each seeing what the ones before it took: exactly the quotas pass,
/// and a caller refused by its tenant's ceiling takes nothing from it.
#[tokio::test]
async fn requests_checked_together_are_counted_exactly() {
    use psa_gateway::ratelimit::{Bucket, Policy, RateLimiter, Source};
    let mut cfg = PlatformConfig::load(None).unwrap().gateway.rate_limit;
    cfg.key_prefix = format!("psa:test:{}:", Uuid::new_v4().simple());
    cfg.per_minute = 5;
    cfg.burst = 5;
    cfg.tenant_per_minute = 8;
    let limiter = RateLimiter::new(cfg).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let user = |tenant: Uuid, sub: &str| {
        Bucket::token(&psa_authn::Caller {
            subject: sub.into(),
            tenant_id: Some(tenant),
            client_id: Some("psa-web".into()),
            permissions: Default::default(),
        })
    };
    let buckets: Vec<Bucket> = [(a, "u1"), (a, "u2"), (b, "u1")]
        .into_iter()
        .flat_map(|(t, sub)| std::iter::repeat_n(user(t, sub), 6))
        .collect();
    // All of them are queued before the batcher first runs (one thread).
    let decisions = futures::future::join_all(buckets.iter().map(|b| limiter.check(b))).await;
    let seen: Vec<(bool, Policy, u32)> = decisions
        .iter()
        .map(|(d, source)| {
            assert_eq!(*source, Source::Redis);
            (d.allowed, d.policy, d.remaining)
        })
        .collect();
    use Policy::{Default as Own, Tenant};
    let own = |r| (true, Own, r);
    let ceiling = |r| (true, Tenant, r);
    assert_eq!(
        seen,
        [
            // a/u1: its own 5, under the tenant's 8.
            own(4),
            own(3),
            own(2),
            own(1),
            own(0),
            (false, Own, 0),
            // a/u2: the 3 left of the ceiling, then the ceiling refuses.
            ceiling(2),
            ceiling(1),
            ceiling(0),
            (false, Tenant, 0),
            (false, Tenant, 0),
            (false, Tenant, 0),
            // b/u1: another tenant, untouched.
            own(4),
            own(3),
            own(2),
            own(1),
            own(0),
            (false, Own, 0),
        ]
    );
}
