//! What the kernel brings to auth: `Idempotency-Key` on every POST (with
//! secrets stored sealed), merge-patch PATCHes that can clear a field and
//! change nothing when nothing changes, and lists whose cursors cannot be
//! forged.

use psa_testkit::{TestApp, cursors};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Tenant, app};

/// Every stored idempotency record of the test database, as text.
async fn stored_records(app: &TestApp) -> String {
    let rows: Vec<String> =
        sqlx::query_scalar("select request_hash || ' ' || headers::text || ' ' || coalesce(body::text, '') from auth.idempotency_keys")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    rows.join("\n")
}

#[tokio::test]
async fn every_auth_post_under_v1_documents_idempotency_key() {
    let app = app().await;
    let doc = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mut posts = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let auth = psa_auth::ROUTES.iter().any(|p| path.starts_with(p));
        let Some(post) = ops.get("post").filter(|_| auth && path.starts_with("/v1/")) else {
            continue;
        };
        posts += 1;
        let params = post["parameters"].as_array().cloned().unwrap_or_default();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "POST {path} documents no Idempotency-Key"
        );
    }
    assert!(posts >= 12, "auth's POSTs: {posts}");
}

/// A retried creation that showed a secret answers with the same secret and
/// creates nothing; the table keeps neither the secret nor a plain hash of
/// the request that carried a password.
#[tokio::test]
async fn replays_show_the_first_secret_which_is_stored_sealed() {
    let app = app().await;
    let admin = Tenant::new(&app).await.admin;
    let body = json!({"name": "sync", "permissions": ["customers:read"]});
    let first = admin
        .post_idem("/v1/service-accounts", "sa-1", &body)
        .await
        .assert_status(StatusCode::CREATED);
    let again = admin
        .post_idem("/v1/service-accounts", "sa-1", &body)
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("cache-control"), Some("no-store"));
    assert_eq!(again.location(), first.location());
    assert_eq!(admin.all("/v1/service-accounts").await.len(), 1);
    admin
        .post_idem(
            "/v1/service-accounts",
            "sa-1",
            json!({"name": "other", "permissions": []}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let id = first.id();
    let rotate = format!("/v1/service-accounts/{id}/rotate-secret");
    let rotated = admin
        .post_idem(&rotate, "rot-1", json!({"overlap_secs": 0}))
        .await
        .assert_status(StatusCode::OK);
    let replayed = admin
        .post_idem(&rotate, "rot-1", json!({"overlap_secs": 0}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(replayed["client_secret"], rotated["client_secret"]);

    let key = admin
        .post_idem(
            "/v1/api-keys",
            "key-1",
            json!({"name": "ci", "permissions": ["customers:read"]}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let password = "a password nobody may read";
    admin
        .post_idem(
            "/v1/users",
            "user-1",
            json!({"email": "x@acme.example", "name": "X", "password": password}),
        )
        .await
        .assert_status(StatusCode::CREATED);

    let stored = stored_records(&app).await;
    assert_eq!(stored.lines().count(), 4, "{stored}");
    // The fingerprint an unkeyed guard would have stored for the user's request.
    let plain: String = {
        use sha2::Digest;
        let body = json!({"email": "x@acme.example", "name": "X", "password": password});
        let mut h = sha2::Sha256::new();
        h.update(b"POST\0/v1/users\0");
        h.update(serde_json::to_vec(&body).unwrap());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    };
    assert!(!stored.contains(&plain), "an unkeyed fingerprint: {stored}");
    for secret in [
        first["client_secret"].as_str().unwrap(),
        rotated["client_secret"].as_str().unwrap(),
        key["key"].as_str().unwrap(),
        password,
    ] {
        assert!(!stored.contains(secret), "a secret in the table: {stored}");
    }
}

/// Actions are POSTs too: a suspension retried with its key is answered
/// as the first time, without a second audit event.
#[tokio::test]
async fn actions_replay_without_a_second_change() {
    let app = app().await;
    let (tenant, _) = app.auth_tenant().await.unwrap();
    let operator = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let ops = app.client_for(operator, &["tenants:admin", "audit:read"]);
    let suspend = format!("/v1/tenants/{tenant}/suspend");
    let first = ops
        .post_idem(&suspend, "s-1", json!({}))
        .await
        .assert_status(StatusCode::OK);
    let again = ops
        .post_idem(&suspend, "s-1", json!({}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(again.body, first.body);
    assert_eq!(again.etag(), first.etag());
    let events = ops.all("/v1/audit-events").await;
    let suspensions = events
        .iter()
        .filter(|e| e["action"] == "tenant.suspended")
        .count();
    assert_eq!(suspensions, 1, "{events:?}");
}

#[tokio::test]
async fn patches_merge_clear_a_field_and_change_nothing_when_nothing_changes() {
    let app = app().await;
    let admin = Tenant::new(&app).await.admin;
    let role = admin
        .create(
            "/v1/roles",
            json!({"name": "auditor", "description": "reads the trail", "permissions": ["audit:read"]}),
        )
        .await;
    let path = format!("/v1/roles/{}", role["id"].as_str().unwrap());
    let cleared = admin
        .patch(&path, json!({"description": null}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["permissions"], json!(["audit:read"]));
    assert_eq!(cleared["version"], 2);
    admin
        .patch_if_match(&path, "\"1\"", json!({"name": "late"}))
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    admin
        .patch(&path, json!({"name": null}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    admin
        .patch(&path, json!(["not", "an", "object"]))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "bad_request");

    let user = crate::user(
        &admin,
        "pat@acme.example",
        "correct horse battery",
        &["readonly"],
    )
    .await;
    let path = format!("/v1/users/{user}");
    let before = admin.all("/v1/audit-events").await.len();
    for same in [
        json!({}),
        json!({"name": "U", "roles": ["readonly"]}),
        json!({"status": "active"}),
    ] {
        let res = admin.patch(&path, same).await.assert_status(StatusCode::OK);
        assert_eq!(res["version"], 1, "{res}");
        assert_eq!(res.etag(), Some("\"1\""));
    }
    admin
        .patch(&path, json!({"email": "new@acme.example"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        admin.all("/v1/audit-events").await.len(),
        before,
        "no-op patches audit nothing"
    );
    let suspended = admin
        .patch(&path, json!({"status": "suspended"}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(suspended["version"], 2);
    assert_eq!(admin.all("/v1/audit-events").await.len(), before + 1);
}

/// Names and descriptions count characters, not bytes; every bad field is
/// reported at once.
#[tokio::test]
async fn lengths_count_characters_and_every_bad_field_is_named() {
    let app = app().await;
    let admin = Tenant::new(&app).await.admin;
    admin
        .post(
            "/v1/users",
            json!({"email": "ü@acme.example", "name": "é".repeat(200), "password": "ü".repeat(12)}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let refused = admin
        .post(
            "/v1/users",
            json!({"email": "not-an-address", "name": "é".repeat(201), "password": "ü".repeat(11)}),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.error_fields(), ["email", "name", "password"]);
}

#[tokio::test]
async fn forged_cursors_are_refused_on_every_list_and_sort() {
    let app = app().await;
    let admin = Tenant::new(&app).await.admin;
    for n in 0..2 {
        crate::user(
            &admin,
            &format!("u{n}@acme.example"),
            "correct horse battery",
            &[],
        )
        .await;
        crate::service_account(&admin, &["customers:read"]).await;
        admin
            .create(
                "/v1/api-keys",
                json!({"name": format!("k{n}"), "permissions": []}),
            )
            .await;
        admin
            .create(
                "/v1/roles",
                json!({"name": format!("r{n}"), "permissions": []}),
            )
            .await;
    }
    for path in [
        "/v1/users",
        "/v1/service-accounts",
        "/v1/api-keys",
        "/v1/roles",
        "/v1/audit-events",
    ] {
        let sorts = cursors::refuses_forgeries_on_every_sort(&admin, path).await;
        assert!(!sorts.is_empty(), "{path}");
    }
    app.auth_tenant().await.unwrap();
    let operator = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let ops = app.client_for(operator, &["tenants:admin"]);
    cursors::refuses_forgeries_on_every_sort(&ops, "/v1/tenants").await;
}
