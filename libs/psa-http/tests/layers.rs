//! The layer stack as a client sees it.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use psa_http::layers::{HttpLimits, apply};
use tower::ServiceExt;

fn app() -> Router {
    let routes = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/panic",
            get(|| async { if true { panic!("boom") } else { "never" } }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let routes = routes
        .merge(psa_http::health::routes(vec![]))
        .fallback(psa_http::layers::not_found);
    apply(
        routes,
        &HttpLimits {
            request_timeout: Duration::from_millis(200),
            body_limit_bytes: 1024,
        },
    )
}

async fn call(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let res = app().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let (status, headers, _) = call(
        Request::get("/ok")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-request-id"], "abc-123");

    let (_, headers, _) = call(
        Request::get("/ok")
            .header("x-request-id", "bad id\twith junk")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let generated = headers["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(generated).is_ok(),
        "an unusable id is replaced: {generated}"
    );
}

#[tokio::test]
async fn every_error_is_a_problem_with_the_request_id() {
    let cases = [
        (
            Request::get("/nope")
                .header("x-request-id", "r1")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::post("/ok")
                .header("x-request-id", "r1")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::get("/panic")
                .header("x-request-id", "r1")
                .body(Body::empty())
                .unwrap(),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            Request::get("/slow")
                .header("x-request-id", "r1")
                .body(Body::empty())
                .unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    for (req, want) in cases {
        let path = req.uri().path().to_owned();
        let (status, headers, body) = call(req).await;
        assert_eq!(status, want, "{path}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}"
        );
        assert_eq!(body["status"], want.as_u16(), "{path}");
        assert_eq!(body["request_id"], "r1", "{path}");
        assert_eq!(body["instance"], path.as_str());
        assert!(!body.to_string().contains("boom"), "no internals leak");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = app();
    app.clone()
        .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let res = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/ok\",status=\"200\"}"),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "latency histogram present"
    );
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_refused_before_it_is_read() {
    // The body never comes: only the head is judged.
    let pending = Body::from_stream(futures::stream::pending::<
        Result<axum::body::Bytes, std::io::Error>,
    >());
    let (status, headers, body) = call(
        Request::post("/ok")
            .header("content-length", "1025")
            .header("x-request-id", "big-1")
            .body(pending)
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "body_too_large");
    assert_eq!(body["request_id"], "big-1");
    assert_eq!(headers["x-request-id"], "big-1");
    let (status, _, _) = call(
        Request::post("/ok")
            .header("content-length", "1024")
            .body(Body::from(vec![b'x'; 1024]))
            .unwrap(),
    )
    .await;
    assert_ne!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "at the limit is fine"
    );
}
