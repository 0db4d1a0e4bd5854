use reqwest::StatusCode;
use serde_json::json;

use crate::{Tenant, app};

#[tokio::test]
async fn a_tenant_admin_cannot_see_or_touch_another_tenant() {
    let app = app().await;
    let a = Tenant::new(&app).await;
    let b = Tenant::new(&app).await;
    let user = a
        .user("a@a.example", "correct horse battery", &["readonly"])
        .await;
    let (_, _, sa) = a.service_account(&["customers:read"]).await;
    let (_, key) = a
        .post(
            "/v1/api-keys",
            json!({"name": "k", "permissions": ["customers:read"]}),
        )
        .await;
    let key = key["id"].as_str().unwrap().to_owned();
    let (_, role) = a
        .post(
            "/v1/roles",
            json!({"name": "auditor", "permissions": ["audit:read"]}),
        )
        .await;
    let role = role["id"].as_str().unwrap().to_owned();

    for path in [
        format!("/v1/users/{user}"),
        format!("/v1/service-accounts/{sa}"),
        format!("/v1/api-keys/{key}"),
    ] {
        assert_eq!(b.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        b.patch(&format!("/v1/users/{user}"), json!({"status": "suspended"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.post(
            &format!("/v1/users/{user}/password"),
            json!({"password": "hijacked password"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.delete(&format!("/v1/api-keys/{key}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.delete(&format!("/v1/service-accounts/{sa}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.delete(&format!("/v1/roles/{role}")).await,
        StatusCode::NOT_FOUND
    );
    for path in [
        "/v1/users",
        "/v1/service-accounts",
        "/v1/api-keys",
        "/v1/audit-events",
    ] {
        let (_, list) = b.get(path).await;
        assert!(
            list["data"].as_array().unwrap().is_empty(),
            "{path}: {list}"
        );
    }
    let (_, roles) = b.get("/v1/roles").await;
    assert!(
        roles["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "auditor")
    );
    // A's things are intact.
    let (s, u) = a.get(&format!("/v1/users/{user}")).await;
    assert_eq!((s, u["status"].as_str()), (StatusCode::OK, Some("active")));
}

#[tokio::test]
async fn nobody_grants_what_they_do_not_hold() {
    let app = app().await;
    let admin = Tenant::new(&app).await;
    let me = admin
        .user("lead@a.example", "correct horse battery", &["dispatcher"])
        .await;
    // A user manager who is not a billing person.
    let manager = admin.as_token(&app.token(
        admin.id,
        &["users:read", "users:write", "roles:write", "customers:read"],
    ));
    manager
        .user("new@a.example", "correct horse battery", &[])
        .await;
    let (s, _) = manager
        .post(
            "/v1/users",
            json!({"email": "b@a.example", "name": "B", "roles": ["billing"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "billing holds permissions the manager lacks"
    );
    let (s, _) = manager
        .patch(&format!("/v1/users/{me}"), json!({"roles": ["admin"]}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no promotion to admin");
    let (s, _) = manager
        .post(
            "/v1/roles",
            json!({"name": "sneaky", "permissions": ["contracts:write"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = admin
        .post(
            "/v1/roles",
            json!({"name": "ops", "permissions": ["tenants:admin"]}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "platform permissions stay with the operator"
    );
    let (s, _) = admin
        .post(
            "/v1/roles",
            json!({"name": "typo", "permissions": ["customer:read"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, p) = admin
        .post(
            "/v1/roles",
            json!({"name": "wordy", "description": "x".repeat(1001), "permissions": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "description");
    let (s, _) = admin
        .post(
            "/v1/users",
            json!({"email": "c@a.example", "name": "C", "roles": ["no-such-role"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, audit) = admin.get("/v1/audit-events?limit=200").await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "user.roles_changed"),
        "refused changes leave no role change"
    );
}

#[tokio::test]
async fn users_need_a_registered_tenant() {
    let app = app().await;
    let token = app.token(uuid::Uuid::now_v7(), &crate::admin_perms());
    let res = app
        .http
        .post(app.url("/v1/users"))
        .bearer_auth(token)
        .json(&json!({"email": "x@y.example", "name": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "a clear 409, not a 500 from the foreign key"
    );
}
