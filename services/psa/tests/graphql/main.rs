//! GraphQL at `/graphql`, from outside: the platform as README's first
//! command runs it (migrated, seeded with the demo, `psa serve all`), called
//! by a stock client (PyPI's `gql`) and over plain HTTP, compared with what
//! `/v1` answers for the same token, with the downstream calls counted on
//! `/metrics`.

use std::collections::BTreeMap;

use psa_testkit::{Client, TestResponse, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[path = "../support/mod.rs"]
mod support;

mod access;
mod reads;
mod services;

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

/// `psa serve all` on a seeded database, the seed token's client, and a
/// demo customer (`x`, as `/v1` shows it) with an open ticket.
struct Platform {
    seeded: Seeded,
    server: Server,
    api: Client,
    x: Uuid,
    customer: TestResponse,
}

impl Platform {
    async fn start(prefix: &str) -> Self {
        let seeded = Seeded::new(prefix);
        let server = serve(&seeded.setup.env, &["serve", "all"]);
        let api = Client::new(seeded.base()).bearer(&seeded.token);
        let x = customer_with_open_ticket(&api).await;
        let customer = api.get(&format!("/v1/customers/{x}")).await;
        Self {
            seeded,
            server,
            api,
            x,
            customer,
        }
    }

    async fn stop(self) {
        drop(self.server);
        self.seeded.teardown().await;
    }
}
