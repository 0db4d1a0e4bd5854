//! Microservice mode: the rate limit of a key, and a module that is down.

use psa_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::json;

use super::*;

/// Microservice mode (tickets over HTTP), a throttled key, and tickets
/// stopped: the rest of the answer still comes.
#[tokio::test]
async fn throttled_callers_and_a_module_that_is_down() {
    let mut seeded = Seeded::new("psa_gql_ms");
    let tickets_port = free_port();
    let mut tickets_env = seeded.setup.env.clone();
    for (k, v) in &mut tickets_env {
        if k == "PSA_HTTP__BIND" {
            *v = format!("127.0.0.1:{tickets_port}");
        }
    }
    let tickets = serve(&tickets_env, &["serve", "tickets"]);
    seeded.setup.env.push((
        "PSA_GATEWAY__UPSTREAMS__TICKETS".into(),
        format!("http://127.0.0.1:{tickets_port}"),
    ));
    let server: Server = serve(&seeded.setup.env, &["serve", "all"]);
    let api = Client::new(seeded.base()).bearer(&seeded.token);
    let x = customer_with_open_ticket(&api).await;

    // A key with 5 requests a minute: the query's cost drains it.
    let key = fixtures::api_key(
        &api,
        &["customers:read", "tickets:read", "assets:read"],
        Some(5),
    )
    .await;
    let keyed = api.bearer(key["key"].as_str().unwrap());
    let first = query(&keyed, &seed_query(x))
        .await
        .assert_status(StatusCode::OK);
    assert!(first.body.get("errors").is_none(), "{first}");
    assert!(!nodes(&first.body["data"]["customer"]["tickets"]).is_empty());
    let mut refused = None;
    for _ in 0..5 {
        let before = downstream_calls(&api).await;
        let res = query(&keyed, &seed_query(x)).await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(calls_since(&api, &before).await.is_empty(), "{res}");
            refused = Some(res);
            break;
        }
    }
    let refused = refused.expect("the key is throttled");
    assert_eq!(code(&refused), "RATE_LIMITED");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(refused.body["data"].is_null());
    // The seed token's own bucket is untouched by the key's.
    let q = format!(
        "{{ customer(id: \"{x}\") {{ name tickets(first: 5) {{ edges {{ node {{ id }} }} }} }} }}"
    );
    let up = query(&api, &q).await.assert_status(StatusCode::OK);
    assert!(up.body.get("errors").is_none(), "{up}");

    // Tickets stopped: the customer's name still comes, its tickets are
    // null with UNAVAILABLE at their path.
    drop(tickets);
    let down = query(&api, &q).await.assert_status(StatusCode::OK);
    assert_eq!(
        down.body["data"]["customer"]["name"],
        up.body["data"]["customer"]["name"]
    );
    assert!(down.body["data"]["customer"]["tickets"].is_null(), "{down}");
    assert_eq!(code(&down), "UNAVAILABLE");
    assert_eq!(
        down.body["errors"][0]["path"],
        json!(["customer", "tickets"])
    );

    drop(server);
    seeded.teardown().await;
}
