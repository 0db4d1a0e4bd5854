//! The OpenAPI document is the contract, checked against the running
//! platform operation by operation: every documented scope is the one the
//! operation enforces, and every POST honours `Idempotency-Key`.

use std::collections::BTreeSet;

use psa_testkit::TestApp;
use psa_testkit::{Client, TestResponse};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

mod idempotency;
mod lists;

/// (method, path template, documented scopes) of every operation.
fn operations(doc: &Value) -> Vec<(Method, String, Vec<String>)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let scopes = op["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s["bearer"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            ops.push((method, path.clone(), scopes));
        }
    }
    ops
}

fn document() -> Value {
    serde_json::from_str(&psa_runtime::openapi::render(&psa::all_modules())).expect("JSON")
}

/// Every permission of every registered module.
fn all_permissions() -> BTreeSet<&'static str> {
    psa::all_modules()
        .iter()
        .flat_map(|m| m.permissions.iter().map(|p| p.name))
        .collect()
}

/// Applies an event of CRM or tickets to billing's projection, as the bus
/// would deliver it.
async fn to_billing(app: &TestApp, tenant: Uuid, event_type: &str, data: &Value) {
    let store = psa_kernel::Store::new(
        app.db.module_pool(&psa_billing::module()).unwrap(),
        psa_billing::DB.schema,
    );
    let mut tx = psa_kernel::Tx::for_tenant(&store, tenant).await.unwrap();
    psa_billing::events::project(&mut tx, event_type, data)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Applies a CRM event to the assets module's projection.
async fn to_assets(app: &TestApp, tenant: Uuid, event_type: &str, data: &Value) {
    let pool = app.db.module_pool(&psa_assets::module()).unwrap();
    psa_assets::repo::eol::ensure_shipped(&pool).await.unwrap();
    let store = psa_kernel::Store::new(pool, psa_assets::DB.schema);
    let mut tx = psa_kernel::Tx::for_tenant(&store, tenant).await.unwrap();
    psa_assets::events::project(&mut tx, event_type, data)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The notify module's store in the test's database.
fn notify_store(app: &TestApp) -> psa_kernel::Store {
    psa_kernel::Store::new(
        app.db.module_pool(&psa_notify::module()).unwrap(),
        psa_notify::DB.schema,
    )
}

/// A dead letter of the (disabled) subscription `hook`, made directly, so
/// that no attempt races it; the subscription is enabled afterwards.
async fn to_notify_dead_letter(app: &TestApp, tenant: Uuid, hook: Uuid) -> Uuid {
    let mut tx = psa_kernel::Tx::for_tenant(&notify_store(app), tenant)
        .await
        .unwrap();
    let event = psa_testkit::broker::event(tenant, "ticket.created", json!({}));
    let id = psa_notify::repo::deliveries::enqueue(&mut tx, hook, &event, false)
        .await
        .unwrap()
        .unwrap();
    sqlx::query("update notify.deliveries set state = 'dead', finished_at = now()")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update notify.webhooks set enabled = true")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A path template with every `{param}` replaced by a fresh id.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                Uuid::now_v7().to_string()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(c: &Client, method: &Method, path: &str) -> TestResponse {
    let req = c.request(method.clone(), path);
    let req = match method.as_str() {
        "POST" | "PUT" => req.json(&json!({})),
        "PATCH" => req
            .header("content-type", "application/merge-patch+json")
            .body("{}"),
        _ => req,
    };
    c.send(req).await
}

/// Without its documented scope an operation answers 403 `forbidden` (before
/// it reads the body or looks for the object); with exactly that scope it
/// lets the caller through (whatever the object or body then make of it).
#[tokio::test]
async fn every_operation_enforces_exactly_its_documented_scope() {
    let app = TestApp::spawn(&psa::all_modules()).await.unwrap();
    let pool = app.db.admin.clone();
    let platform = psa_auth::ensure_platform_tenant(&pool, "operator", "Operator")
        .await
        .unwrap();
    let all = all_permissions();
    let mut checked = 0;
    for (method, template, scopes) in operations(&document()) {
        if scopes.is_empty() || !template.starts_with("/v1/") {
            continue;
        }
        let platform_only = scopes
            .iter()
            .any(|s| psa_authn::permissions::PLATFORM_ONLY.contains(&s.as_str()));
        let tenant = if platform_only {
            platform
        } else {
            Uuid::now_v7()
        };
        let path = concrete(&template);

        let others: Vec<&str> = all
            .iter()
            .copied()
            .filter(|p| !scopes.iter().any(|s| s == p))
            .collect();
        let without = call(&app.client_for(tenant, &others), &method, &path).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "{method} {template} without {scopes:?}: {without}"
        );
        assert_eq!(without["code"], "forbidden", "{method} {template}");

        let exact: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let with = call(&app.client_for(tenant, &exact), &method, &path).await;
        assert!(
            with.status != StatusCode::FORBIDDEN && with.status != StatusCode::UNAUTHORIZED,
            "{method} {template} with exactly {scopes:?} is let through: {with}"
        );
        assert!(
            !with.status.is_server_error(),
            "{method} {template}: {with}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} operations were checked");
}

/// Every operation lists every status it can answer, each problem with the
/// problem schema: what any authenticated call may meet (401, 403, and the
/// gateway's 429, 502, 503, 504), and what each part of the request brings
/// (a body: 400, 413, 415, 422; `Idempotency-Key`: 400, 422; `If-Match`:
/// 400, 412; an id in the path: 404; paging: 400).
#[test]
fn every_operation_documents_the_problems_it_can_answer() {
    let doc = document();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            let mut expected = vec!["401", "403", "429", "502", "503", "504"];
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if params.contains(&"Idempotency-Key") {
                expected.extend(["400", "422"]);
            }
            if params.contains(&"If-Match") {
                expected.extend(["400", "412"]);
            }
            if path.contains('{') {
                expected.push("404");
            }
            if params.contains(&"cursor") {
                expected.push("400");
            }
            for status in expected {
                if !responses.contains_key(status) {
                    missing.push(format!("{} {path}: {status}", method.to_uppercase()));
                }
            }
            for (status, response) in responses {
                let response = match response["$ref"].as_str() {
                    Some(r) => {
                        &doc["components"]["responses"]
                            [r.trim_start_matches("#/components/responses/")]
                    }
                    None => response,
                };
                let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                if !status.starts_with('2') && problem != "#/components/schemas/ProblemBody" {
                    missing.push(format!(
                        "{} {path}: {status} without the problem schema",
                        method.to_uppercase()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}
