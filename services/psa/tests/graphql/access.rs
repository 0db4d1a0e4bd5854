//! Who sees what, persisted queries, the mutations and GraphiQL.

use psa_testkit::peers;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn another_tenant_sees_nothing_and_a_missing_permission_is_forbidden() {
    let p = Platform::start("psa_gql_access").await;
    let api = p.api.clone();
    let x = p.x;
    let seeded = &p.seeded;
    let customer = &p.customer;
    // Another tenant's customer: null and NOT_FOUND, nothing of it shown.
    let stranger = api.bearer(seeded.stranger_token());
    let res = query(&stranger, &seed_query(x))
        .await
        .assert_status(StatusCode::OK);
    assert!(res.body["data"]["customer"].is_null(), "{res}");
    assert_eq!(code(&res), "NOT_FOUND");
    assert_eq!(res.body["errors"][0]["path"], json!(["customer"]));
    assert!(!res.text.contains(customer.body["name"].as_str().unwrap()));

    // A caller without tickets:read gets the customer, and FORBIDDEN where
    // the tickets module refused it.
    let crm_only = api.bearer(seeded.dev_token(&seeded.tenant, "customers:read"));
    let res = query(
        &crm_only,
        &format!("{{ customer(id: \"{x}\") {{ name tickets(first: 1) {{ edges {{ node {{ id }} }} }} }} }}"),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(res.body["data"]["customer"]["name"], customer.body["name"]);
    assert!(res.body["data"]["customer"]["tickets"].is_null(), "{res}");
    assert_eq!(code(&res), "FORBIDDEN");
    assert_eq!(
        res.body["errors"][0]["path"],
        json!(["customer", "tickets"])
    );

    p.stop().await;
}

#[tokio::test]
async fn persisted_queries_round_trip_per_tenant() {
    let p = Platform::start("psa_gql_apq").await;
    let api = p.api.clone();
    let x = p.x;
    let seeded = &p.seeded;
    let customer = &p.customer;
    let stranger = api.bearer(seeded.stranger_token());
    // Automatic persisted queries: the hash alone first, then with the
    // query, then the hash alone (also over GET).
    let q = format!("{{ customer(id: \"{x}\") {{ name customerNumber }} }}");
    let hash = sha256_hex(&q);
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let miss = post(&api, json!({"extensions": ext})).await;
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss}");
    let first = post(&api, json!({"query": q, "extensions": ext})).await;
    assert_eq!(
        first.body["data"]["customer"]["name"],
        customer.body["name"]
    );
    let again = post(&api, json!({"extensions": ext})).await;
    assert_eq!(again.body["data"], first.body["data"]);
    let get = api
        .send(
            api.request(Method::GET, "/graphql")
                .query(&[("extensions", ext.to_string())]),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(get.body["data"], first.body["data"]);
    // The cache is the tenant's own: another tenant's hash alone misses.
    let other = post(&stranger, json!({"extensions": ext})).await;
    assert_eq!(code(&other), "PERSISTED_QUERY_NOT_FOUND", "{other}");
    let wrong = post(
        &api,
        json!({"query": "{ customers(first: 1) { edges { node { id } } } }", "extensions": ext}),
    )
    .await;
    assert_eq!(code(&wrong), "PERSISTED_QUERY_HASH_MISMATCH", "{wrong}");
    let mutation = api
        .send(
            api.request(Method::GET, "/graphql")
                .query(&[("query", "mutation { __typename }")]),
        )
        .await;
    assert_eq!(
        mutation.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{mutation}"
    );

    p.stop().await;
}

#[tokio::test]
async fn mutations_are_idempotent_by_their_client_mutation_id() {
    let p = Platform::start("psa_gql_mut").await;
    let api = p.api.clone();
    let x = p.x;
    let customer = &p.customer;
    // The two mutations, idempotent by their client mutation id.
    let create = "mutation($input: CreateTicketInput!) { createTicket(input: $input) \
                  { clientMutationId ticket { id title customer { name } } } }";
    let input = json!({"input": {"clientMutationId": "gql-1", "title": "Printer jammed",
                                 "customerId": x, "priority": "HIGH"}});
    let one = post(&api, json!({"query": create, "variables": input})).await;
    assert!(one.body.get("errors").is_none(), "{one}");
    let ticket = &one.body["data"]["createTicket"]["ticket"];
    assert_eq!(ticket["customer"]["name"], customer.body["name"]);
    let two = post(&api, json!({"query": create, "variables": input})).await;
    assert_eq!(
        two.body["data"]["createTicket"]["ticket"]["id"],
        ticket["id"]
    );
    let same_title = api
        .all(&format!("/v1/tickets?customer_id={x}"))
        .await
        .into_iter()
        .filter(|t| t["title"] == "Printer jammed")
        .count();
    assert_eq!(same_title, 1, "a retried createTicket creates nothing");
    let add = "mutation($input: AddTicketCommentInput!) { addTicketComment(input: $input) \
               { comment { id body } } }";
    let comment = json!({"input": {"clientMutationId": "gql-2", "ticketId": ticket["id"],
                                   "body": "Replaced the drum."}});
    let res = post(&api, json!({"query": add, "variables": comment})).await;
    assert!(res.body.get("errors").is_none(), "{res}");
    let read = query(
        &api,
        &format!(
            "{{ ticket(id: {}) {{ priority comments(first: 5) {{ edges {{ node {{ body }} }} }} }} }}",
            ticket["id"]
        ),
    )
    .await;
    assert_eq!(read.body["data"]["ticket"]["priority"], "HIGH");
    assert_eq!(
        nodes(&read.body["data"]["ticket"]["comments"]),
        [json!({"body": "Replaced the drum."})]
    );

    p.stop().await;
}

#[tokio::test]
async fn graphiql_renders_from_the_binary_in_chromium() {
    let p = Platform::start("psa_gql_page").await;
    let api = p.api.clone();
    let seeded = &p.seeded;
    // GraphiQL, from the binary, renders in a browser that reaches nothing
    // but this host, and runs a query with the token typed into it.
    let page = api
        .send(
            api.anonymous()
                .request(Method::GET, "/graphql")
                .header("accept", "text/html"),
        )
        .await
        .assert_status(StatusCode::OK);
    assert!(page.content_type().unwrap().starts_with("text/html"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    let (rendered, said) =
        peers::render_check(&seeded.graphql_url(), Some(seeded.token.as_str())).await;
    assert!(rendered, "{said}");

    p.stop().await;
}
