use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::app;

#[tokio::test]
async fn no_token_is_401_with_a_challenge() {
    let app = app().await;
    let anonymous = app.anonymous();
    let res = anonymous
        .get("/v1/customers")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    anonymous
        .send(
            anonymous
                .request(reqwest::Method::GET, "/v1/customers")
                .header("authorization", "Basic dTpw"),
        )
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_401() {
    let app = app().await;
    for (name, token) in psa_testkit::forged::tokens(&app.key, Uuid::now_v7()) {
        let res = app.client(token).get("/v1/customers").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("invalid_token"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn missing_permission_is_403() {
    let app = app().await;
    let (_, read_only) = app.new_tenant(&["customers:read"]);
    read_only
        .post("/v1/customers", json!({"name": "A"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    read_only
        .get("/v1/customers")
        .await
        .assert_status(StatusCode::OK);
    read_only
        .get("/v1/contracts")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
