//! GraphQL at `/graphql`, from outside: the platform as README's first
//! command runs it (migrated, seeded with the demo, `psa serve all`), called
//! by a stock client (PyPI's `gql`) and over plain HTTP, compared with what
//! `/v1` answers for the same token, with the downstream calls counted on
//! `/metrics`.

use std::collections::BTreeMap;

use psa_testkit::{Client, TestResponse, fixtures, peers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

mod support;

use support::{Server, Setup, drop_all, free_port, psa, serve, setup};

/// A migrated, seeded database and the seed's token (not yet served).
struct Seeded {
    setup: Setup,
    token: String,
    tenant: String,
}

impl Seeded {
    fn new(prefix: &str) -> Self {
        let setup = setup(prefix);
        let out = psa(&setup.env).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = psa(&setup.env).arg("seed-demo").output().unwrap();
        assert!(
            out.status.success(),
            "seed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let token = stdout.lines().last().unwrap().to_owned();
        let tenant = stdout
            .lines()
            .find_map(|l| l.strip_prefix("demo tenant: "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_owned();
        Self {
            setup,
            token,
            tenant,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.setup.port)
    }

    fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base())
    }

    /// A development token of `tenant` with `permissions` (comma-separated).
    fn dev_token(&self, tenant: &str, permissions: &str) -> String {
        let out = psa(&self.setup.env)
            .args([
                "dev-token",
                "--tenant",
                tenant,
                "--permissions",
                permissions,
                "--ttl",
                "10m",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// A development token of another, empty tenant.
    fn stranger_token(&self) -> String {
        self.dev_token(
            &Uuid::now_v7().to_string(),
            "customers:read,tickets:read,assets:read",
        )
    }

    async fn teardown(self) {
        drop_all(&self.setup.admin, &self.setup.db, &self.setup.dir).await;
    }
}

/// `gateway_graphql_downstream_requests_total` per module, from `/metrics`.
async fn downstream_calls(c: &Client) -> BTreeMap<String, u64> {
    let text = c.anonymous().get("/metrics").await.text;
    text.lines()
        .filter_map(|l| l.strip_prefix("gateway_graphql_downstream_requests_total{module=\""))
        .filter_map(|rest| {
            let (module, value) = rest.split_once("\"} ")?;
            Some((module.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// How many calls each module got since `before`.
async fn calls_since(c: &Client, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    downstream_calls(c)
        .await
        .into_iter()
        .map(|(m, n)| {
            let d = n - before.get(&m).copied().unwrap_or(0);
            (m, d)
        })
        .filter(|(_, d)| *d > 0)
        .collect()
}

async fn post(c: &Client, body: Value) -> TestResponse {
    c.post("/graphql", body).await
}

async fn query(c: &Client, q: &str) -> TestResponse {
    post(c, json!({ "query": q })).await
}

/// The first error's `extensions.code`.
fn code(res: &TestResponse) -> &str {
    res.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {res}"))
}

/// The answer to the head of a `POST /graphql` that announces `len` bytes
/// and waits for `100 Continue` before sending them (so a server that
/// refuses the size from the head alone answers without a race against
/// the upload; over plain TCP, as reqwest cannot wait for the 100).
fn head_only_post(port: u16, token: &str, len: usize) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn seed_query(customer: Uuid) -> String {
    format!(
        "{{ customer(id: \"{customer}\") {{ name tickets(status: OPEN, first: 20) \
         {{ edges {{ node {{ id title priority }} }} }} assets(first: 20) \
         {{ edges {{ node {{ name type }} }} }} }} }}"
    )
}

fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("a connection: {connection}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A customer of the demo with an open ticket (a new one is moved to open).
async fn customer_with_open_ticket(api: &Client) -> Uuid {
    let customer = api.get("/v1/customers?limit=1").await.items()[0].clone();
    let id = psa_testkit::id_of(&customer);
    let ticket = fixtures::ticket(api, id).await;
    api.patch(
        &format!("/v1/tickets/{}", psa_testkit::id_of(&ticket)),
        json!({"status": "open"}),
    )
    .await
    .assert_status(StatusCode::OK);
    id
}

#[tokio::test]
async fn the_seed_query_batched_bounded_isolated_and_persisted() {
    let seeded = Seeded::new("psa_gql");
    let server = serve(&seeded.setup.env, &["serve", "all"]);
    let api = Client::new(seeded.base()).bearer(&seeded.token);
    let x = customer_with_open_ticket(&api).await;

    // The seed's query, from a stock client, is what /v1 answers.
    let got = peers::graphql_client(
        &seeded.graphql_url(),
        &seeded.token,
        &seed_query(x),
        &json!({}),
    )
    .await;
    assert!(got.get("errors").is_none(), "{got}");
    let customer = api.get(&format!("/v1/customers/{x}")).await;
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

    drop(server);
    seeded.teardown().await;
}

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
