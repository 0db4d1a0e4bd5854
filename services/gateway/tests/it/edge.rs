use psa_testkit::{Client, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{CountingUpstream, gateway, reader_key, tenant};

/// Forged and invalid tokens are refused at the edge; none reaches a module.
#[tokio::test]
async fn forged_tokens_never_reach_a_module() {
    let upstream = CountingUpstream::start().await;
    let url = upstream.url.clone();
    let app = gateway(move |cfg| {
        cfg.gateway.upstreams.insert("crm".into(), url);
    })
    .await;
    let t = Uuid::now_v7();
    let mut cases = psa_testkit::forged::tokens(&app.key, t);
    cases.push((
        "unknown API key",
        format!(
            "psa_{}_{}_{}",
            t.simple(),
            Uuid::now_v7().simple(),
            "x".repeat(43)
        ),
    ));
    for (name, token) in &cases {
        let res = app.client(token).get("/v1/customers").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{name}");
        res.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let none = app.anonymous().get("/v1/customers").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.header("www-authenticate").is_some());
    assert_eq!(upstream.hits(), 0, "no refused request reached the module");

    let good = app
        .key
        .sign_raw(Some("at+jwt"), &psa_testkit::forged::claims(t))
        .unwrap();
    app.client(good)
        .get("/v1/customers")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(upstream.hits(), 1, "the counter does count");
}

#[tokio::test]
async fn permissions_unknown_paths_and_headers() {
    let app = gateway(|_| {}).await;
    let reader = app.new_tenant(&["customers:read"]).1;
    reader
        .post("/v1/customers", json!({"name": "x"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    reader
        .get("/v1/no-such-thing")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let res = reader
        .send(
            reader
                .request(Method::GET, "/v1/customers")
                .header("x-request-id", "client-chosen-42"),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.header("x-request-id"), Some("client-chosen-42"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert!(res.header("ratelimit-policy").is_some());

    // The OIDC endpoints need no token.
    app.anonymous()
        .get("/.well-known/openid-configuration")
        .await
        .assert_status(StatusCode::OK);
}

/// Every write leaves one audit row with the request id the client saw; a
/// tenant's admin reads only its own tenant's rows.
#[tokio::test]
async fn writes_are_audited_per_tenant() {
    let app = gateway(|_| {}).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let writer = app.client_for(a, &["customers:write", "customers:read"]);
    let with_id = |method: Method, path: &str, id: &str| {
        writer.request(method, path).header("x-request-id", id)
    };
    let created = writer
        .send(with_id(Method::POST, "/v1/customers", "write-1").json(&json!({"name": "Audited"})))
        .await
        .assert_status(StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    writer
        .send(
            with_id(Method::PATCH, &format!("/v1/customers/{id}"), "write-2")
                .header("content-type", psa_testkit::MERGE_PATCH)
                .body(r#"{"name": 5}"#),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    writer
        .send(with_id(Method::GET, "/v1/customers", "read-1"))
        .await;

    let auditor = app.client_for(a, &["audit:read"]);
    let rows = poll_audit(&auditor, 2).await;
    let seen: Vec<(String, String, i64, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r["request_id"].as_str().unwrap().into(),
                r["method"].as_str().unwrap().into(),
                r["status"].as_i64().unwrap(),
                r["resource_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "write-1".to_owned(),
                "POST".to_owned(),
                201,
                Some(id.clone())
            ),
            (
                "write-2".to_owned(),
                "PATCH".to_owned(),
                422,
                Some(id.clone())
            ),
        ],
        "one row per write, none for reads"
    );

    let other = app.client_for(b, &["audit:read"]);
    assert!(
        other.get("/v1/audit-log").await.items().is_empty(),
        "tenant B reads none of A's rows"
    );
    writer
        .get("/v1/audit-log")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// The audit writer batches off the request path; wait (bounded) for the rows.
async fn poll_audit(auditor: &Client, want: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows = auditor.get("/v1/audit-log").await.items().clone();
        if rows.len() >= want || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// API keys work at the edge: exchanged for a short-lived token the module verifies.
#[tokio::test]
async fn api_keys_are_exchanged_at_the_edge() {
    let app: TestApp = gateway(|_| {}).await;
    let t = tenant(&app).await;
    let key = app.client(reader_key(&app, t, None).await);
    key.get("/v1/customers").await.assert_status(StatusCode::OK);
    let res = key.post("/v1/customers", json!({"name": "x"})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "the key's scope holds");
}
