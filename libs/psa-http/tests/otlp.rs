//! OTLP export end to end: a request through the layer stack, carrying a
//! caller's `traceparent`, ends as a span at an OTLP/HTTP collector, in the
//! caller's trace. Its own binary: it installs the global subscriber.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use psa_http::layers::{HttpLimits, apply};
use psa_telemetry::{LogFormat, TelemetryConfig};
use reqwest::StatusCode;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_in_the_caller_s_trace() {
    let (tx, mut exported) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let collector = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let _ = tx.send(body.to_vec());
            async { StatusCode::OK }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let guard = psa_telemetry::init(&TelemetryConfig {
        log_format: LogFormat::Json,
        log_level: "info".into(),
        otlp_endpoint: collector_url,
        service_name: "psa-otlp-test".into(),
    })
    .unwrap();

    let app = apply(
        Router::new().route("/hello", get(|| async { "hi" })),
        &HttpLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let res = reqwest::Client::new()
        .get(format!("{app_url}/hello"))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Shutting the provider down flushes the batch (a blocking call).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(10), exported.recv())
        .await
        .expect("an export within 10 s")
        .expect("a body");
    assert!(
        contains(&body, &hex(TRACE_ID)),
        "the span continues the caller's trace"
    );
    assert!(contains(&body, b"psa-otlp-test"), "the service is named");
    assert!(contains(&body, b"request"), "the request span is exported");
}
