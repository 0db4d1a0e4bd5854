use std::net::SocketAddr;
use std::time::{Duration, Instant};

use psa_runtime::config::FailMode;
use psa_testkit::{Client, FaultProxy, TestApp};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{gateway, reader_key, tenant};

#[tokio::test]
async fn per_key_limit_with_structured_headers() {
    let app = gateway(|_| {}).await;
    let t = tenant(&app).await;
    let k1 = app.client(reader_key(&app, t, Some(10)).await);
    let k2 = app.client(reader_key(&app, t, Some(10)).await);
    for i in 0..10 {
        let res = k1.get("/v1/customers").await;
        assert_eq!(res.status, StatusCode::OK, "request {i}");
        assert_eq!(
            res.header("ratelimit-remaining"),
            Some((9 - i).to_string().as_str())
        );
    }
    let refused = k1
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let h = &refused.headers;
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let policy = sfv::Parser::new(h["ratelimit-policy"].to_str().unwrap())
        .parse::<sfv::List>()
        .expect("RateLimit-Policy is a structured list");
    let rl = sfv::Parser::new(h["ratelimit"].to_str().unwrap())
        .parse::<sfv::List>()
        .expect("RateLimit is a structured list");
    assert_eq!(policy.len(), 1);
    assert_eq!(rl.len(), 1);
    assert!(
        h["ratelimit-policy"]
            .to_str()
            .unwrap()
            .contains("q=10;w=60")
    );
    assert!(h["ratelimit"].to_str().unwrap().contains("r=0"));
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        sfv::Parser::new(h[name].to_str().unwrap())
            .parse::<sfv::Item>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(
        k2.get("/v1/customers").await.status,
        StatusCode::OK,
        "another key is unaffected"
    );
}

/// Two gateway processes sharing Redis together accept no more than the limit.
#[tokio::test]
async fn two_gateways_share_one_limit() {
    let prefix = format!("psa:test:{}:", Uuid::new_v4().simple());
    let limit = |cfg: &mut psa_runtime::PlatformConfig, p: &str| {
        cfg.gateway.rate_limit.per_minute = 10;
        cfg.gateway.rate_limit.burst = 10;
        cfg.gateway.rate_limit.key_prefix = p.to_owned();
    };
    let (p1, p2) = (prefix.clone(), prefix.clone());
    let a = gateway(move |c| limit(c, &p1)).await;
    let b = gateway(move |c| limit(c, &p2)).await;
    // Both tokens have client_id psa-dev: one client, one quota.
    let (ca, cb) = (
        a.new_tenant(&["customers:read"]).1,
        b.new_tenant(&["customers:read"]).1,
    );
    let mut accepted = 0;
    for i in 0..30 {
        let via = if i % 2 == 0 { &ca } else { &cb };
        let res = via.get("/v1/customers").await;
        assert!(!res.status.is_server_error(), "{res}");
        if res.status == StatusCode::OK {
            accepted += 1;
        }
    }
    assert!((10..=11).contains(&accepted), "accepted {accepted}");
}

async fn redis_has(prefix: &str) -> bool {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("{prefix}client:psa-dev"))
        .query_async(&mut conn)
        .await
        .unwrap();
    exists
}

async fn with_redis_down(mode: FailMode) -> (TestApp, FaultProxy, Client) {
    let redis: SocketAddr = "127.0.0.1:6379".parse().unwrap();
    let proxy = FaultProxy::start(redis).await.unwrap();
    let url = format!("redis://{}", proxy.addr);
    let app = gateway(move |cfg| {
        cfg.gateway.rate_limit.redis_url = url;
        cfg.gateway.rate_limit.per_minute = 5;
        cfg.gateway.rate_limit.burst = 5;
        cfg.gateway.rate_limit.fail_mode = mode;
    })
    .await;
    let prefix = app.config.gateway.rate_limit.key_prefix.clone();
    let reader = app.new_tenant(&["customers:read"]).1;
    let first = reader.get("/v1/customers").await;
    assert_eq!(first.status, StatusCode::OK, "{:?} {first}", first.headers);
    assert!(redis_has(&prefix).await, "the shared limiter is in use");
    proxy.set_down(true);
    (app, proxy, reader)
}

#[tokio::test]
async fn redis_down_local_mode_keeps_limiting_then_resumes() {
    let (app, proxy, reader) = with_redis_down(FailMode::Local).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(reader.get("/v1/customers").await.status);
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
    let key = format!("{}client:psa-dev", app.config.gateway.rate_limit.key_prefix);
    let mut conn = redis::Client::open("redis://127.0.0.1:6379")
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    proxy.set_down(false);
    let started = Instant::now();
    loop {
        let before: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let status = reader.get("/v1/customers").await.status;
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

#[tokio::test]
async fn redis_down_open_mode_passes() {
    let (_app, _proxy, reader) = with_redis_down(FailMode::Open).await;
    for _ in 0..8 {
        reader
            .get("/v1/customers")
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn redis_down_closed_mode_refuses_with_503() {
    let (_app, _proxy, reader) = with_redis_down(FailMode::Closed).await;
    let res = reader
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(res.header("retry-after").is_some());
}
