//! The test peers of `scripts/peers`, run as separate processes: a
//! receiver of Standard Webhooks that verifies every delivery with PyPI's
//! `standardwebhooks` and answers as a test scripts it (also the HTTP
//! stand-in of Teams and Twilio), and an SMTP server (PyPI's `aiosmtpd`)
//! that requires STARTTLS and AUTH; a stock GraphQL client (PyPI's `gql`)
//! and a headless Chromium render check (`scripts/browser`).

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A receiver of Standard Webhooks in its own process (killed when dropped).
pub struct Receiver {
    pub url: String,
    pub http: reqwest::Client,
    _child: tokio::process::Child,
}

impl Receiver {
    pub async fn start() -> Self {
        let mut child = tokio::process::Command::new(format!("{}/scripts/peers", root()))
            .arg("webhook-receiver")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("scripts/peers runs");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = tokio::time::timeout(Duration::from_secs(300), lines.next_line())
                .await
                .expect("the receiver starts")
                .expect("its stdout is read")
                .expect("the receiver prints its port");
            if let Some(p) = line.strip_prefix("listening on ") {
                break p.trim().to_owned();
            }
        };
        Self {
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _child: child,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn control(&self, what: &str, body: Value) {
        let res = self
            .http
            .post(format!("{}/_control/{what}", self.url))
            .json(&body)
            .send()
            .await
            .expect("the receiver answers");
        assert!(res.status().is_success(), "control {what}");
    }

    /// The secrets deliveries are verified with (the record's
    /// `verified_with` lists the indexes of those that verify).
    pub async fn secrets(&self, secrets: &[&str]) {
        self.control("secrets", json!({"secrets": secrets})).await;
    }

    /// Answers deliveries to `path` with `responses` in turn, then `default`
    /// (each `{"status", "headers", "body", "delay_ms"}`).
    pub async fn script(&self, path: &str, responses: Value, default: Value) {
        self.control(
            "script",
            json!({"path": path, "responses": responses, "default": default}),
        )
        .await;
    }

    /// What `path` received, in order of arrival.
    pub async fn received(&self, path: &str) -> Vec<Value> {
        let res: Value = self
            .http
            .get(format!("{}/_control/received?path={path}", self.url))
            .send()
            .await
            .expect("the receiver answers")
            .json()
            .await
            .expect("a JSON list");
        res["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `path` has received `n` deliveries (or fails after a minute).
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} deliveries to {path}"), || async {
            let got = self.received(path).await;
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

/// An SMTP server in its own process (killed when dropped): STARTTLS and
/// AUTH (as `user` with `password`) required, its certificate issued by a
/// CA of its own ([`SmtpServer::ca_pem`]).
pub struct SmtpServer {
    pub port: u16,
    /// The CA certificate (PEM) its certificate chains to.
    pub ca_pem: String,
    dir: std::path::PathBuf,
    _child: tokio::process::Child,
}

impl SmtpServer {
    pub async fn start(user: &str, password: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("psa-smtp-{}", uuid::Uuid::new_v4().simple()));
        let mut child = tokio::process::Command::new(format!("{}/scripts/peers", root()))
            .arg("smtp-server")
            .arg("--dir")
            .arg(&dir)
            .args(["--user", user, "--password", password])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("scripts/peers runs");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let (mut ca, mut port) = (None, None);
        while port.is_none() {
            let line = tokio::time::timeout(Duration::from_secs(300), lines.next_line())
                .await
                .expect("the SMTP server starts")
                .expect("its stdout is read")
                .expect("the SMTP server prints its CA and port");
            if let Some(p) = line.strip_prefix("ca ") {
                ca = Some(std::fs::read_to_string(p.trim()).expect("the CA certificate"));
            } else if let Some(p) = line.strip_prefix("listening on ") {
                port = p.trim().parse().ok();
            }
        }
        Self {
            port: port.expect("a port"),
            ca_pem: ca.expect("the CA is printed first"),
            dir,
            _child: child,
        }
    }

    /// The messages accepted so far, in order: `{mail_from, rcpt_tos,
    /// auth_user, tls, data}`.
    pub fn messages(&self) -> Vec<Value> {
        let mut found: Vec<(u64, Value)> = std::fs::read_dir(self.dir.join("messages"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let n = name.strip_suffix(".json")?.parse().ok()?;
                        let text = std::fs::read_to_string(e.path()).ok()?;
                        Some((n, serde_json::from_str(&text).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by_key(|(n, _)| *n);
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// Waits until `n` messages were accepted (or fails after a minute).
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        eventually(&format!("{n} e-mails"), || async {
            let got = self.messages();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A query sent by a stock GraphQL client (PyPI's `gql`, which fetches the
/// schema by introspection and validates the query against it first):
/// `{"data": …, "errors": […]}` as the server answered. Panics when the
/// client refused the query or could not reach the server.
pub async fn graphql_client(url: &str, token: &str, query: &str, variables: &Value) -> Value {
    let out = tokio::process::Command::new(format!("{}/scripts/peers", root()))
        .arg("graphql-client")
        .arg(url)
        .args(["--token", token, "--query", query, "--variables"])
        .arg(variables.to_string())
        .output()
        .await
        .expect("scripts/peers runs");
    assert!(
        out.status.success(),
        "the GraphQL client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client prints JSON")
}

/// Whether `url` renders in headless Chromium with no request leaving the
/// host (`scripts/browser render-check`), and what the check printed. With
/// a token the check also runs `{ __typename }` from GraphiQL's editor.
pub async fn render_check(url: &str, token: Option<&str>) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(format!("{}/scripts/browser", root()));
    cmd.args(["render-check", url]);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let out = cmd.output().await.expect("scripts/browser runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn root() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
}

/// Polls `check` until it returns Some (every 25 ms, at most 60 s).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
