//! Rate limits at the gateway against a real Redis; every test has its own
//! key prefix (the test app's), so tests never share a bucket.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use psa_runtime::PlatformConfig;
use psa_runtime::config::FailMode;
use psa_testkit::{Client, FaultProxy, TestApp, TestResponse, fixtures};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::{gateway, reader_key, tenant};

mod redis_down;

/// A token of `tenant` for `sub`, issued to `client` (the test issuer's).
fn token(app: &TestApp, tenant: Uuid, sub: &str, client: &str) -> Client {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": psa_testkit::ISSUER, "aud": psa_testkit::AUDIENCE, "sub": sub,
        "client_id": client, "tenant_id": tenant.to_string(), "iat": now, "exp": now + 300,
        "permissions": ["customers:read"]});
    app.client(app.key.sign_raw(Some("at+jwt"), &claims).unwrap())
}

fn quota(per_minute: u32) -> impl FnOnce(&mut PlatformConfig) {
    move |cfg| {
        cfg.gateway.rate_limit.per_minute = per_minute;
        cfg.gateway.rate_limit.burst = per_minute;
    }
}

/// A rate-limit field: one policy (a string) and its integer parameters.
fn field(res: &TestResponse, name: &str) -> (String, HashMap<String, u32>) {
    let v = res
        .header(name)
        .unwrap_or_else(|| panic!("{name} in {:?}", res.headers));
    let list = sfv::Parser::new(v)
        .parse::<sfv::List>()
        .unwrap_or_else(|e| panic!("{name} is a structured list: {e}"));
    assert_eq!(list.len(), 1, "{name}: one policy");
    let sfv::ListEntry::Item(item) = &list[0] else {
        panic!("{name}: an item");
    };
    let policy = item
        .bare_item
        .as_string()
        .unwrap_or_else(|| panic!("{name}: the policy is a string"))
        .as_str()
        .to_owned();
    let params = item
        .params
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), i64::from(v.as_integer()?) as u32)))
        .collect();
    (policy, params)
}

/// The policy named by `RateLimit-Policy` and `RateLimit` (they must
/// agree), its quota and what remains of it.
fn applied(res: &TestResponse) -> (String, u32, u32) {
    let (policy, p) = field(res, "ratelimit-policy");
    let (same, r) = field(res, "ratelimit");
    assert_eq!(policy, same, "both fields name one policy");
    assert_eq!(p["w"], 60);
    let (limit, remaining) = (p["q"], r["r"]);
    assert_eq!(
        res.header("ratelimit-limit"),
        Some(limit.to_string().as_str())
    );
    assert_eq!(
        res.header("ratelimit-remaining"),
        Some(remaining.to_string().as_str())
    );
    (policy, limit, remaining)
}

async fn get(c: &Client) -> TestResponse {
    c.get("/v1/customers").await
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(psa_testkit::broker::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The TAT a rate-limit key holds in Redis (none when absent).
async fn tat(app: &TestApp, key: &str) -> Option<u64> {
    let full = format!("{}{key}", app.config.gateway.rate_limit.key_prefix);
    redis::cmd("GET")
        .arg(full)
        .query_async(&mut redis().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn per_key_limit_with_structured_headers() {
    let app = gateway(|_| {}).await;
    let t = tenant(&app).await;
    let k1 = app.client(reader_key(&app, t, Some(10)).await);
    let k2 = app.client(reader_key(&app, t, Some(10)).await);
    for i in 0..10 {
        let res = get(&k1).await;
        assert_eq!(res.status, StatusCode::OK, "request {i}");
        assert_eq!(applied(&res), ("key".into(), 10, 9 - i));
    }
    let refused = get(&k1)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(applied(&refused), ("key".into(), 10, 0));
    assert!(
        refused
            .header("ratelimit-policy")
            .unwrap()
            .contains("q=10;w=60")
    );
    let reset: u64 = refused.header("ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= retry, "reset {reset}, retry {retry}");
    assert_eq!(
        get(&k2).await.status,
        StatusCode::OK,
        "another key is unaffected"
    );
}

/// The web client (or one integration) used by two tenants: each tenant
/// has its own bucket, even for the same `sub`.
#[tokio::test]
async fn two_tenants_on_one_client_have_separate_buckets() {
    let app = gateway(quota(5)).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    for (sub, client) in [("staff", "psa-web"), ("integration", "integration")] {
        let (ca, cb) = (token(&app, a, sub, client), token(&app, b, sub, client));
        for i in 0..5 {
            let res = get(&ca).await.assert_status(StatusCode::OK);
            assert_eq!(applied(&res), ("default".into(), 5, 4 - i), "{client}");
        }
        get(&ca)
            .await
            .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let other = get(&cb).await.assert_status(StatusCode::OK);
        assert_eq!(
            applied(&other),
            ("default".into(), 5, 4),
            "{client}: tenant b's quota is untouched by tenant a"
        );
    }
}

/// Two staff of one tenant signed in through one client: one bucket each.
#[tokio::test]
async fn two_users_of_one_tenant_on_one_client_have_separate_buckets() {
    let app = gateway(quota(5)).await;
    let t = Uuid::now_v7();
    let (u1, u2) = (
        token(&app, t, "u1", "psa-web"),
        token(&app, t, "u2", "psa-web"),
    );
    for _ in 0..5 {
        get(&u1).await.assert_status(StatusCode::OK);
    }
    get(&u1)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(
        applied(&get(&u2).await.assert_status(StatusCode::OK)),
        ("default".into(), 5, 4)
    );
    // The same user through another client draws from the same bucket.
    get(&token(&app, t, "u1", "other-client"))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

/// A service account's tokens (client credentials at the platform's own
/// issuer) share its client's bucket, whichever token it uses.
#[tokio::test]
async fn a_service_accounts_tokens_share_its_clients_bucket() {
    let app = gateway(quota(5)).await;
    let t = tenant(&app).await;
    let admin = app.client_for(t, &["service_accounts:write", "customers:read"]);
    let account = fixtures::service_account(&admin, &["customers:read"]).await;
    let anonymous = app.anonymous();
    let first = fixtures::signed_in(&anonymous, &account).await;
    let second = fixtures::signed_in(&anonymous, &account).await;
    assert_ne!(first.token(), second.token());
    let before = applied(&get(&first).await.assert_status(StatusCode::OK)).2;
    let after = applied(&get(&second).await.assert_status(StatusCode::OK)).2;
    assert_eq!(after + 1, before, "one bucket for the client");
    let client = account["client_id"].as_str().unwrap();
    assert!(
        tat(&app, &format!("{{{t}}}:client:{client}"))
            .await
            .is_some()
    );
}

/// A tenant over its own ceiling is refused whoever of it calls; another
/// tenant on the same client is not slowed. The user's own bucket is not
/// charged when the ceiling refuses. (Quotas are small so that the keys
/// read from Redis stay there for seconds: a key goes once its TAT passes.)
#[tokio::test]
async fn a_tenant_over_its_ceiling_does_not_slow_another() {
    let busy = Uuid::now_v7();
    let app = gateway(move |cfg| {
        quota(10)(cfg);
        cfg.gateway
            .rate_limit
            .tenant_ceilings
            .insert(busy.to_string(), 4);
    })
    .await;
    let quiet = Uuid::now_v7();
    let users: Vec<Client> = (0..4)
        .map(|i| token(&app, busy, &format!("u{i}"), "psa-web"))
        .collect();
    for (i, user) in users.iter().enumerate() {
        let res = get(user).await.assert_status(StatusCode::OK);
        assert_eq!(
            applied(&res),
            ("tenant".into(), 4, 3 - i as u32),
            "the ceiling is tighter than each user's 10"
        );
    }
    let own_key = format!("{{{busy}}}:user:u0");
    let own_before = tat(&app, &own_key).await;
    for user in &users {
        let refused = get(user)
            .await
            .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(applied(&refused), ("tenant".into(), 4, 0));
        assert!(
            refused
                .header("ratelimit-policy")
                .unwrap()
                .contains("q=4;w=60")
        );
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=15).contains(&retry), "one interval of 15 s: {retry}");
    }
    assert_eq!(
        tat(&app, &own_key).await,
        own_before,
        "a refusal by the ceiling takes nothing from the user's bucket"
    );

    // Another tenant, same client, same user ids: the default ceiling and
    // its users' own quotas.
    let other = get(&token(&app, quiet, "u0", "psa-web"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(applied(&other), ("default".into(), 10, 9));
}

/// A caller refused by its own quota takes nothing from its tenant's ceiling.
#[tokio::test]
async fn a_refusal_by_the_own_bucket_leaves_the_ceiling_alone() {
    // Every tenant's ceiling, slow enough that its key stays in Redis meanwhile.
    let app = gateway(|cfg| cfg.gateway.rate_limit.tenant_per_minute = 10).await;
    let t = tenant(&app).await;
    let key = app.client(reader_key(&app, t, Some(2)).await);
    for _ in 0..2 {
        get(&key).await.assert_status(StatusCode::OK);
    }
    let ceiling = format!("{{{t}}}:tenant");
    let before = tat(&app, &ceiling).await;
    assert!(before.is_some());
    for _ in 0..3 {
        let refused = get(&key)
            .await
            .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(applied(&refused), ("key".into(), 2, 0));
    }
    assert_eq!(tat(&app, &ceiling).await, before);
}

/// Two gateway processes sharing Redis together accept no more than the limit.
#[tokio::test]
async fn two_gateways_share_one_limit() {
    let prefix = format!("psa:test:{}:", Uuid::new_v4().simple());
    let limit = |cfg: &mut PlatformConfig, p: &str| {
        quota(10)(cfg);
        cfg.gateway.rate_limit.key_prefix = p.to_owned();
    };
    let (p1, p2) = (prefix.clone(), prefix.clone());
    let a = gateway(move |c| limit(c, &p1)).await;
    let b = gateway(move |c| limit(c, &p2)).await;
    // The same user of the same tenant, through either gateway (each trusts
    // its own test key).
    let t = Uuid::now_v7();
    let (ca, cb) = (
        a.client_for(t, &["customers:read"]),
        b.client_for(t, &["customers:read"]),
    );
    let mut accepted = 0;
    for i in 0..30 {
        let via = if i % 2 == 0 { &ca } else { &cb };
        let res = get(via).await;
        assert!(!res.status.is_server_error(), "{res}");
        if res.status == StatusCode::OK {
            accepted += 1;
        }
    }
    assert!((10..=11).contains(&accepted), "accepted {accepted}");
}

/// A gateway whose Redis goes through a proxy that is then taken down,
/// after one request showed the shared limiter in use; its reader is a
/// user of a new tenant.
async fn with_redis_down(
    mode: FailMode,
    adjust: impl FnOnce(&mut PlatformConfig, Uuid),
) -> (TestApp, FaultProxy, Uuid) {
    let proxy = FaultProxy::start(psa_testkit::broker::redis_addr())
        .await
        .unwrap();
    let url = psa_testkit::broker::redis_url_via(proxy.addr);
    let t = Uuid::now_v7();
    let app = gateway(move |cfg| {
        cfg.gateway.rate_limit.redis_url = url;
        quota(5)(cfg);
        cfg.gateway.rate_limit.fail_mode = mode;
        adjust(cfg, t);
    })
    .await;
    let first = get(&app.client_for(t, &["customers:read"])).await;
    assert_eq!(first.status, StatusCode::OK, "{:?} {first}", first.headers);
    assert!(
        tat(&app, &format!("{{{t}}}:user:test-user"))
            .await
            .is_some(),
        "the shared limiter is in use"
    );
    proxy.set_down(true);
    (app, proxy, t)
}
