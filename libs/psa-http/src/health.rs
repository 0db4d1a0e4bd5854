//! `/healthz` (the process is alive), `/readyz` (its dependencies answer) and
//! `/metrics` (Prometheus text).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::problem::Problem;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One named dependency check (a database, a broker, a peer).
#[derive(Clone)]
pub struct ReadinessCheck {
    pub name: String,
    /// A failing critical check makes the process not ready; others are only reported.
    pub critical: bool,
    check: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl ReadinessCheck {
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name: name.into(),
            critical: true,
            check: Arc::new(move || Box::pin(f())),
        }
    }

    /// Reported on /readyz but never makes the process unready (e.g. one
    /// upstream of the gateway: the others still work).
    pub fn informational(mut self) -> Self {
        self.critical = false;
        self
    }

    /// A check that `select 1` succeeds on the pool.
    pub fn postgres(name: impl Into<String>, pool: sqlx::PgPool) -> Self {
        Self::new(name, move || {
            let pool = pool.clone();
            async move {
                sqlx::query("select 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }
}

#[derive(Serialize)]
struct CheckReport {
    name: String,
    critical: bool,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

async fn readiness(checks: Arc<Vec<ReadinessCheck>>) -> Response {
    let results = futures::future::join_all(checks.iter().map(|c| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (c.check)()).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
        };
        CheckReport {
            name: c.name.clone(),
            critical: c.critical,
            status: if outcome.is_ok() { "up" } else { "down" },
            error: outcome.err(),
        }
    }))
    .await;
    let down: Vec<String> = results
        .iter()
        .filter(|r| r.critical && r.error.is_some())
        .map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or("")))
        .collect();
    if down.is_empty() {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ready", "checks": results})),
        )
            .into_response()
    } else {
        tracing::warn!(down = ?down, "not ready");
        Problem::service_unavailable(format!("not ready: {}", down.join("; ")), 5).into_response()
    }
}

/// How often histogram samples are folded into their buckets.
const METRICS_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only when another recorder is already installed: then this
        // handle renders nothing, which is visible on /metrics at once.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        // Histogram samples pile up in memory until they are folded into
        // their buckets, which only a scrape or the upkeep does: without
        // it, a process nobody scrapes grows with every request.
        let upkeep = handle.clone();
        let started = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                loop {
                    std::thread::sleep(METRICS_UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "the metrics upkeep thread did not start");
        }
        handle
    })
}

/// The operational routes every process serves.
pub fn routes(checks: Vec<ReadinessCheck>) -> Router {
    let checks = Arc::new(checks);
    let handle = prometheus();
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(move || readiness(checks.clone())))
        .route(
            "/metrics",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }),
        )
}
