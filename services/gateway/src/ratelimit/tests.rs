use super::*;

fn q(limit: u32, burst: u32) -> Quota {
    Quota {
        limit,
        burst,
        policy: Policy::Default,
    }
}

#[test]
fn ten_per_minute_allows_ten_then_refuses() {
    let mut tat = None;
    let now = 1_000_000_000;
    for i in 0..10 {
        let (d, t) = gcra(tat, now, &q(10, 10));
        assert!(d.allowed, "request {i}");
        assert_eq!(d.remaining, 9 - i);
        tat = Some(t);
    }
    let (d, t) = gcra(tat, now, &q(10, 10));
    assert!(!d.allowed);
    assert_eq!(Some(t), tat, "a refusal takes nothing");
    assert_eq!(d.retry_after_secs, 6, "one emission interval of 6 s");
    // After one interval, one more.
    let (d, _) = gcra(tat, now + 6_000_000, &q(10, 10));
    assert!(d.allowed);
}

#[test]
fn very_high_quotas_do_not_divide_by_zero() {
    assert!(gcra(None, 1, &q(u32::MAX, u32::MAX)).0.allowed);
    assert!(gcra(None, 1, &q(0, 0)).0.allowed);
}

#[test]
fn burst_one_spaces_requests_evenly() {
    let (d, tat) = gcra(None, 0, &q(60, 1));
    assert!(d.allowed);
    assert!(!gcra(Some(tat), 500_000, &q(60, 1)).0.allowed);
    assert!(gcra(Some(tat), 1_000_000, &q(60, 1)).0.allowed);
}

fn decision(policy: Policy, allowed: bool, remaining: u32, retry: u64) -> Decision {
    Decision {
        allowed,
        policy,
        limit: 100,
        remaining,
        reset_secs: 1,
        retry_after_secs: retry,
    }
}

#[test]
fn the_refusing_or_tighter_quota_applies() {
    use Policy::{Default as Own, Tenant};
    let own = |a, r, t| decision(Own, a, r, t);
    let ceiling = |a, r, t| decision(Tenant, a, r, t);
    assert_eq!(verdict(own(true, 5, 0), None).policy, Own);
    assert_eq!(
        verdict(own(true, 5, 0), Some(ceiling(true, 9, 0))).policy,
        Own
    );
    assert_eq!(
        verdict(own(true, 5, 0), Some(ceiling(true, 5, 0))).policy,
        Own
    );
    assert_eq!(
        verdict(own(true, 5, 0), Some(ceiling(true, 4, 0))).policy,
        Tenant
    );
    assert_eq!(
        verdict(own(true, 0, 0), Some(ceiling(false, 0, 3))).policy,
        Tenant
    );
    assert_eq!(
        verdict(own(false, 0, 3), Some(ceiling(true, 0, 0))).policy,
        Own
    );
    let both = verdict(own(false, 0, 3), Some(ceiling(false, 0, 7)));
    assert_eq!((both.policy, both.retry_after_secs), (Tenant, 7));
    let both = verdict(own(false, 0, 9), Some(ceiling(false, 0, 7)));
    assert_eq!((both.policy, both.retry_after_secs), (Own, 9));
}

fn caller(sub: &str, tenant: Option<Uuid>, client: Option<&str>) -> Caller {
    Caller {
        subject: sub.into(),
        tenant_id: tenant,
        client_id: client.map(str::to_owned),
        permissions: Default::default(),
    }
}

#[test]
fn tokens_are_keyed_per_user_or_per_client_within_their_tenant() {
    let t = Some(Uuid::now_v7());
    let user = Bucket::token(&caller("u1", t, Some("psa-web")));
    assert_eq!((user.tenant, user.name.as_str()), (t, "user:u1"));
    // RFC 9068: no resource owner, sub is the client.
    let cc = Bucket::token(&caller("sync", t, Some("sync")));
    assert_eq!(cc.name, "client:sync");
    // The platform's service accounts: sub is the account's id.
    let sa = Bucket::token(&caller("0190-acct", t, Some("sa.abc.def")));
    assert_eq!(sa.name, "client:sa.abc.def");
    let bare = Bucket::token(&caller("u2", t, None));
    assert_eq!(bare.name, "user:u2");
    let key = Bucket::api_key(&caller("api-key:k1", t, Some("api-key:k1")), Some(5));
    assert_eq!(
        (key.name.as_str(), key.quota, key.policy),
        ("key:k1", Some(5), Policy::Key)
    );
}

fn limiter(adjust: impl FnOnce(&mut RateLimitConfig)) -> RateLimiter {
    let mut rl = psa_runtime::PlatformConfig::load(None)
        .unwrap()
        .gateway
        .rate_limit;
    rl.key_prefix = "psa:rl:".into();
    adjust(&mut rl);
    RateLimiter::new(rl).unwrap()
}

#[test]
fn a_tenants_keys_share_its_hash_tag_and_its_ceiling() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let l = limiter(|rl| {
        rl.tenant_ceilings.insert(a.simple().to_string(), 50);
    });
    let cells = l.cells(&Bucket::token(&caller("u1", Some(a), Some("psa-web"))));
    assert_eq!(cells.own.key, format!("psa:rl:{{{a}}}:user:u1"));
    let ceiling = cells.ceiling.unwrap();
    assert_eq!(ceiling.key, format!("psa:rl:{{{a}}}:tenant"));
    assert_eq!(
        (ceiling.quota.limit, ceiling.quota.policy),
        (50, Policy::Tenant)
    );
    assert_eq!(l.ceiling(b), 6000, "the default ceiling");
    let other = l.cells(&Bucket::token(&caller("u1", Some(b), Some("psa-web"))));
    assert_eq!(other.own.key, format!("psa:rl:{{{b}}}:user:u1"));
    let anonymous = l.cells(&Bucket::ip("10.0.0.1"));
    assert_eq!(
        (anonymous.own.key.as_str(), anonymous.ceiling),
        ("psa:rl:ip:10.0.0.1", None)
    );
}

#[test]
fn ceilings_must_name_tenants() {
    let mut rl = limiter(|_| {}).cfg;
    rl.tenant_ceilings.insert("acme".into(), 5);
    let err = RateLimiter::new(rl).err().unwrap().to_string();
    assert!(err.contains("tenant_ceilings.acme"), "{err}");
}

#[test]
fn local_mode_counts_in_both_cells_or_in_neither() {
    let t = Uuid::now_v7();
    let l = limiter(|rl| {
        rl.per_minute = 3;
        rl.burst = 3;
        rl.tenant_ceilings.insert(t.to_string(), 4);
    });
    let u1 = l.cells(&Bucket::token(&caller("u1", Some(t), Some("psa-web"))));
    let u2 = l.cells(&Bucket::token(&caller("u2", Some(t), Some("psa-web"))));
    let policies: Vec<_> = (0..4)
        .map(|_| {
            let d = l.check_local(&u1);
            (d.allowed, d.policy)
        })
        .collect();
    assert_eq!(
        policies,
        [
            (true, Policy::Default),
            (true, Policy::Default),
            (true, Policy::Default),
            (false, Policy::Default)
        ]
    );
    // u1's refusal took nothing from the ceiling: one is left for u2.
    let d = l.check_local(&u2);
    assert!(d.allowed);
    assert_eq!((d.policy, d.remaining), (Policy::Tenant, 0));
    // The ceiling's refusal takes nothing from u2's own bucket.
    let d = l.check_local(&u2);
    assert_eq!((d.allowed, d.policy), (false, Policy::Tenant));
    // Counted once, u2's TAT is at most one emission interval ahead.
    let tat = l.local.lock().unwrap()[&u2.own.key];
    assert!(
        tat <= now_us() + q(3, 3).emission_us(),
        "u2 was counted twice"
    );
}

use proptest::prelude::*;

proptest! {
    /// Over any arrival pattern within one window, no more than burst requests pass.
    #[test]
    fn never_more_than_burst_in_a_window(gaps in prop::collection::vec(0u64..500_000, 1..200), limit in 1u32..100) {
        let mut tat = None;
        let mut now = 10_000_000_000u64;
        let start = now;
        let mut allowed = 0u32;
        for g in gaps {
            now += g;
            if now - start >= 60_000_000 { break; }
            let (d, t) = gcra(tat, now, &q(limit, limit));
            if d.allowed { allowed += 1; }
            tat = Some(t);
        }
        let elapsed = now - start;
        let refill = (elapsed * u64::from(limit) / 60_000_000) as u32;
        prop_assert!(allowed <= limit + refill, "allowed {allowed} limit {limit} refill {refill}");
    }
}
