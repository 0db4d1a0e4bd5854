//! The test peers of `scripts/peers`, run as separate processes: a
//! receiver of Standard Webhooks that verifies every delivery with PyPI's
//! `standardwebhooks` and answers as a test scripts it.

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
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut child = tokio::process::Command::new(format!("{root}/scripts/peers"))
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
