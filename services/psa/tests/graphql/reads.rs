//! Reads: what `/v1` answers, in as few calls, within the limits.

use psa_testkit::{fixtures, peers};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn the_seed_query_from_a_stock_client_is_what_v1_answers() {
    let p = Platform::start("psa_gql_seed").await;
    let api = p.api.clone();
    let x = p.x;
    let seeded = &p.seeded;
    let customer = &p.customer;
    // The seed's query, from a stock client, is what /v1 answers.
    let got = peers::graphql_client(
        &seeded.graphql_url(),
        &seeded.token,
        &seed_query(x),
        &json!({}),
    )
    .await;
    assert!(got.get("errors").is_none(), "{got}");
    assert_eq!(got["data"]["customer"]["name"], customer.body["name"]);
    let rest_tickets: Vec<Value> = api
        .get(&format!("/v1/tickets?customer_id={x}&status=open&limit=20"))
        .await
        .items()
        .iter()
        .map(|t| {
            json!({"id": t["id"], "title": t["title"],
                   "priority": t["priority"].as_str().unwrap().to_uppercase()})
        })
        .collect();
    assert!(!rest_tickets.is_empty());
    assert_eq!(nodes(&got["data"]["customer"]["tickets"]), rest_tickets);
    let rest_assets: Vec<Value> = api
        .get(&format!("/v1/assets?customer_id={x}&limit=20"))
        .await
        .items()
        .iter()
        .map(|a| json!({"name": a["name"], "type": a["type"]}))
        .collect();
    assert!(!rest_assets.is_empty());
    assert_eq!(nodes(&got["data"]["customer"]["assets"]), rest_assets);

    p.stop().await;
}

#[tokio::test]
async fn fifty_customers_take_one_call_per_module_and_level() {
    let p = Platform::start("psa_gql_batch").await;
    let api = p.api.clone();
    // 50 customers with their tickets and assets: one list call per module
    // and level, not one per customer.
    for i in 0..47 {
        fixtures::customer(&api, &format!("GraphQL {i:02}")).await;
    }
    let before = downstream_calls(&api).await;
    let res = query(
        &api,
        "{ customers(first: 50) { edges { node { id name \
         tickets(first: 10) { edges { node { id customerId } } } \
         assets(first: 10) { edges { node { id customerId } } } } } } }",
    )
    .await
    .assert_status(StatusCode::OK);
    assert!(res.body.get("errors").is_none(), "{res}");
    let customers = nodes(&res.body["data"]["customers"]);
    assert_eq!(customers.len(), 50);
    let expected: BTreeMap<String, u64> = [("assets", 1), ("crm", 1), ("tickets", 1)]
        .into_iter()
        .map(|(m, n)| (m.to_owned(), n))
        .collect();
    assert_eq!(calls_since(&api, &before).await, expected);
    assert_eq!(
        res.body["extensions"]["downstream"],
        json!(expected),
        "{res}"
    );
    assert_eq!(res.body["extensions"]["cost"]["requested"], 1000);
    // Each customer got its own children, as /v1 lists them.
    let (mut tickets, mut assets) = (0, 0);
    for c in &customers {
        for t in nodes(&c["tickets"]) {
            assert_eq!(t["customerId"], c["id"]);
            tickets += 1;
        }
        for a in nodes(&c["assets"]) {
            assert_eq!(a["customerId"], c["id"]);
            assets += 1;
        }
    }
    assert_eq!(tickets, api.all("/v1/tickets").await.len());
    assert_eq!(assets, api.all("/v1/assets").await.len());

    p.stop().await;
}

#[tokio::test]
async fn over_the_limits_or_malformed_nothing_reaches_a_module() {
    let p = Platform::start("psa_gql_limits").await;
    let api = p.api.clone();
    let x = p.x;
    let seeded = &p.seeded;
    // Over the limits: refused before anything runs.
    let before = downstream_calls(&api).await;
    let nest = |inner: &str| {
        format!(
            "{{ customer(id: \"{x}\") {{ tickets(first: 1) {{ edges {{ node {{ asset {{ \
             tickets(first: 1) {{ edges {{ node {{ asset {{ {inner} }} }} }} }} }} }} }} }} }} }}"
        )
    };
    let deep = query(&api, &nest("customer { name }")).await;
    assert_eq!(code(&deep), "MAX_DEPTH_EXCEEDED", "{deep}");
    assert!(deep.body["data"].is_null());
    let costly = query(
        &api,
        &format!(
            "{{ x: customer(id: \"{x}\") {{ name }} customers(first: 50) {{ edges {{ node {{ \
             tickets(first: 10) {{ edges {{ node {{ id }} }} }} \
             assets(first: 10) {{ edges {{ node {{ id }} }} }} }} }} }} }}"
        ),
    )
    .await;
    assert_eq!(code(&costly), "MAX_COST_EXCEEDED", "{costly}");
    assert_eq!(costly.body["extensions"]["cost"]["requested"], 1001);
    for bad in [
        "{ customers(first: 101) { edges { node { id } } } }",
        "{ customers { edges { node { id } } } }",
        "{ customers(first: 0) { edges { node { id } } } }",
    ] {
        let res = query(&api, bad).await;
        assert_eq!(code(&res), "VALIDATION_FAILED", "{bad}: {res}");
        assert!(res.body["data"].is_null(), "{res}");
    }
    assert!(
        calls_since(&api, &before).await.is_empty(),
        "no refused query reached a module"
    );
    // Bodies that are not a GraphQL request: a problem, never a 500.
    let huge = head_only_post(seeded.setup.port, &seeded.token, 2 << 20);
    assert!(huge.contains(" 413 "), "{huge}");
    assert!(huge.contains("\"code\":\"body_too_large\""), "{huge}");
    let batch = post(&api, json!([{"query": "{ __typename }"}])).await;
    assert!(batch.status.is_client_error(), "{batch}");
    assert!(batch.body["code"].is_string(), "{batch}");
    let unknown = post(&api, json!({"query": "{ __typename }", "extra": 1})).await;
    assert!(unknown.status.is_client_error(), "{unknown}");
    let garbled = query(&api, "{ customers(first: 1) { edges { node { id ").await;
    assert_eq!(code(&garbled), "GRAPHQL_PARSE_FAILED", "{garbled}");
    // Even a query that does not parse draws from the caller's bucket.
    assert!(
        garbled.body["extensions"]["cost"]["remaining"].is_u64(),
        "{garbled}"
    );
    let nobody = api
        .anonymous()
        .post("/graphql", json!({"query": "{ __typename }"}))
        .await;
    nobody.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(
        calls_since(&api, &before).await.is_empty(),
        "none of them reached a module"
    );
    // One level less is allowed.
    let ok = query(&api, &nest("name")).await;
    assert!(ok.body.get("errors").is_none(), "{ok}");

    p.stop().await;
}

#[tokio::test]
async fn pages_are_v1_pages_both_ways() {
    let p = Platform::start("psa_gql_pages").await;
    let api = p.api.clone();
    let x = p.x;
    // Four tickets at least: the demo's two, the open one and this.
    fixtures::ticket(&api, x).await;

    // Paging: GraphQL's pages are /v1's, in /v1's default order, both ways.
    let rest_ids: Vec<Value> = api
        .all(&format!("/v1/tickets?customer_id={x}"))
        .await
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert!(rest_ids.len() >= 4, "{rest_ids:?}");
    let page = |args: String| {
        let api = api.clone();
        async move {
            let res = query(
                &api,
                &format!(
                    "{{ customer(id: \"{x}\") {{ tickets({args}) {{ edges {{ node {{ id }} }} \
                     pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }} }}"
                ),
            )
            .await;
            res.body["data"]["customer"]["tickets"].clone()
        }
    };
    let ids =
        |conn: &Value| -> Vec<Value> { nodes(conn).iter().map(|n| n["id"].clone()).collect() };
    let one = page("first: 2".into()).await;
    assert_eq!(ids(&one), rest_ids[..2]);
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = page(format!("first: 2, after: {}", one["pageInfo"]["endCursor"])).await;
    assert_eq!(ids(&two), rest_ids[2..4], "{two}");
    let n = rest_ids.len();
    let end = page("last: 2".into()).await;
    assert_eq!(ids(&end), rest_ids[n - 2..], "{end}");
    assert_eq!(end["pageInfo"]["hasPreviousPage"], true);
    let before = page(format!(
        "last: 1, before: {}",
        end["pageInfo"]["startCursor"]
    ))
    .await;
    assert_eq!(ids(&before), rest_ids[n - 3..n - 2], "{before}");
    let edited = query(
        &api,
        &format!("{{ customer(id: \"{x}\") {{ tickets(first: 2, after: \"AAAA\") {{ edges {{ node {{ id }} }} }} }} }}"),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(code(&edited), "VALIDATION_FAILED", "{edited}");

    p.stop().await;
}
