use psa_testkit::fixtures;
use reqwest::StatusCode;
use serde_json::json;

use crate::{Tenant, app, service_account, user};

#[tokio::test]
async fn a_tenant_admin_cannot_see_or_touch_another_tenant() {
    let app = app().await;
    let a = Tenant::new(&app).await;
    let b = Tenant::new(&app).await.admin;
    let user = user(
        &a.admin,
        "a@a.example",
        "correct horse battery",
        &["readonly"],
    )
    .await;
    let (_, _, sa) = service_account(&a.admin, &["customers:read"]).await;
    let key = fixtures::api_key(&a.admin, &["customers:read"], None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = a
        .admin
        .create(
            "/v1/roles",
            json!({"name": "auditor", "permissions": ["audit:read"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in [
        format!("/v1/users/{user}"),
        format!("/v1/service-accounts/{sa}"),
        format!("/v1/api-keys/{key}"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    b.patch(&format!("/v1/users/{user}"), json!({"status": "suspended"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    b.post(
        &format!("/v1/users/{user}/password"),
        json!({"password": "hijacked password"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    for path in [
        format!("/v1/api-keys/{key}"),
        format!("/v1/service-accounts/{sa}"),
        format!("/v1/roles/{role}"),
    ] {
        assert_eq!(
            b.delete(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        "/v1/users",
        "/v1/service-accounts",
        "/v1/api-keys",
        "/v1/audit-events",
    ] {
        let list = b.get(path).await;
        assert!(list.items().is_empty(), "{path}: {list}");
    }
    assert!(
        b.get("/v1/roles")
            .await
            .items()
            .iter()
            .all(|r| r["name"] != "auditor")
    );
    // A's things are intact.
    let u = a
        .admin
        .get(&format!("/v1/users/{user}"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(u["status"], "active");
}

#[tokio::test]
async fn nobody_grants_what_they_do_not_hold() {
    let app = app().await;
    let t = Tenant::new(&app).await;
    let admin = &t.admin;
    let me = user(
        admin,
        "lead@a.example",
        "correct horse battery",
        &["dispatcher"],
    )
    .await;
    // A user manager who is not a billing person.
    let manager = app.client_for(
        t.id,
        &["users:read", "users:write", "roles:write", "customers:read"],
    );
    user(&manager, "new@a.example", "correct horse battery", &[]).await;
    let res = manager
        .post(
            "/v1/users",
            json!({"email": "b@a.example", "name": "B", "roles": ["billing"]}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "billing holds permissions the manager lacks: {res}"
    );
    let res = manager
        .patch(&format!("/v1/users/{me}"), json!({"roles": ["admin"]}))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "no promotion to admin");
    manager
        .post(
            "/v1/roles",
            json!({"name": "sneaky", "permissions": ["contracts:write"]}),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let res = admin
        .post(
            "/v1/roles",
            json!({"name": "ops", "permissions": ["tenants:admin"]}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "platform permissions stay with the operator: {res}"
    );
    admin
        .post(
            "/v1/roles",
            json!({"name": "typo", "permissions": ["customer:read"]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let p = admin
        .post(
            "/v1/roles",
            json!({"name": "wordy", "description": "x".repeat(1001), "permissions": []}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields()[0], "description");
    admin
        .post(
            "/v1/users",
            json!({"email": "c@a.example", "name": "C", "roles": ["no-such-role"]}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let audit = admin.get("/v1/audit-events?limit=200").await;
    assert!(
        audit
            .items()
            .iter()
            .all(|e| e["action"] != "user.roles_changed"),
        "refused changes leave no role change"
    );
}

#[tokio::test]
async fn users_need_a_registered_tenant() {
    let app = app().await;
    let res = app
        .client_for(uuid::Uuid::now_v7(), &crate::admin_perms())
        .post("/v1/users", json!({"email": "x@y.example", "name": "X"}))
        .await;
    assert_eq!(
        res.status,
        StatusCode::CONFLICT,
        "a clear 409, not a 500 from the foreign key: {res}"
    );
}
