//! The OpenAPI document is the contract, checked against the running
//! platform operation by operation: every documented scope is the one the
//! operation enforces, and every POST honours `Idempotency-Key`.

use std::collections::BTreeSet;

use psa_testkit::TestApp;
use psa_testkit::{Client, TestResponse};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

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

/// What one POST needs: a concrete path, a valid body, and (where the
/// operation takes one) another body to reuse the key with.
struct Example {
    path: String,
    body: Value,
    other: Option<Value>,
    caller: Client,
}

/// Every POST of the document, fed with a valid request, answers a retry
/// with the same `Idempotency-Key` and body with the first response (marked
/// `idempotent-replayed`, nothing created twice) and the same key with
/// another body with 422. A POST without an example here fails the test, so
/// a new one cannot skip the guard.
#[tokio::test]
async fn every_post_honours_idempotency_key() {
    let app = TestApp::spawn(&psa::all_modules()).await.unwrap();
    let platform = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let operator = app.client_for(platform, &["tenants:admin"]);
    let tenant = operator
        .create("/v1/tenants", json!({"slug": "acme", "name": "Acme"}))
        .await;
    let tenant = psa_testkit::id_of(&tenant);
    let tenant_permissions: Vec<&str> = all_permissions()
        .into_iter()
        .filter(|p| !psa_authn::permissions::PLATFORM_ONLY.contains(p))
        .collect();
    let admin = app.client_for(tenant, &tenant_permissions);

    let customer = psa_testkit::fixtures::customer(&admin, "Contoso").await;
    let customer_id = psa_testkit::id_of(&customer);
    let tickets = psa_kernel::Store::new(
        app.db.module_pool(&psa_tickets::module()).unwrap(),
        psa_tickets::DB.schema,
    );
    let mut tx = psa_kernel::Tx::for_tenant(&tickets, tenant).await.unwrap();
    psa_tickets::events::project(&mut tx, "customer.created", &customer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ticket = psa_testkit::id_of(&psa_testkit::fixtures::ticket(&admin, customer_id).await);
    let account = psa_testkit::id_of(
        &psa_testkit::fixtures::service_account(&admin, &["customers:read"]).await,
    );
    let password = "a long enough passphrase 1";
    let user = psa_testkit::id_of(
        &psa_testkit::fixtures::user(&admin, "dana@acme.example", password, &["technician"]).await,
    );
    let me = app.client(
        app.key
            .access_token(
                psa_testkit::ISSUER,
                psa_testkit::AUDIENCE,
                tenant,
                &user.to_string(),
                &[],
                600,
            )
            .unwrap(),
    );
    let other_tenant = psa_testkit::id_of(
        &operator
            .create("/v1/tenants", json!({"slug": "globex", "name": "Globex"}))
            .await,
    );
    // Billing: a customer it can invoice, two billable hours, the seller,
    // a draft to add lines to, one to release and a released one to credit.
    let buyer = admin
        .create(
            "/v1/customers",
            json!({"name": "Umbrella", "address": {"line1": "Hauptstr. 1", "postal_code": "10115",
                "city": "Berlin", "country": "DE"}}),
        )
        .await;
    let buyer_id = psa_testkit::id_of(&buyer);
    to_billing(&app, tenant, "customer.created", &buyer).await;
    let billed_ticket = admin.get(&format!("/v1/tickets/{ticket}")).await.body;
    to_billing(&app, tenant, "ticket.created", &billed_ticket).await;
    let mut hours = vec![];
    for minutes in [60, 90] {
        let entry = admin
            .create(
                &format!("/v1/tickets/{ticket}/time-entries"),
                json!({"started_at": "2026-11-02T09:00:00Z", "minutes": minutes}),
            )
            .await;
        to_billing(&app, tenant, "time_entry.logged", &entry).await;
        hours.push(psa_testkit::id_of(&entry));
    }
    admin
        .patch(
            "/v1/billing/settings",
            json!({"legal_name": "Muster IT GmbH", "vat_id": "DE123456789", "iban": "DE02120300000000202051",
                "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"}}),
        )
        .await
        .assert_status(StatusCode::OK);
    let line =
        |price: &str| json!({"description": "Support", "quantity": "1", "unit_price": price});
    let draft = |n: &str| json!({"customer_id": buyer_id, "lines": [line(n)]});
    let open_draft = psa_testkit::id_of(&admin.create("/v1/invoices", draft("10.00")).await);
    let to_release = psa_testkit::id_of(&admin.create("/v1/invoices", draft("20.00")).await);
    let released = psa_testkit::id_of(&admin.create("/v1/invoices", draft("30.00")).await);
    admin
        .post(&format!("/v1/invoices/{released}/release"), json!({}))
        .await
        .assert_status(StatusCode::OK);

    let example = |template: &str| -> Option<Example> {
        let ex = |path: String, body: Value, other: Option<Value>, caller: &Client| {
            Some(Example {
                path,
                body,
                other,
                caller: caller.clone(),
            })
        };
        let started = "2026-11-30T09:00:00Z";
        match template {
            "/v1/customers" => ex(
                template.into(),
                json!({"name": "Initech"}),
                Some(json!({"name": "Initrode"})),
                &admin,
            ),
            "/v1/contacts" => ex(
                template.into(),
                json!({"customer_id": customer_id, "name": "Ann"}),
                Some(json!({"customer_id": customer_id, "name": "Bob"})),
                &admin,
            ),
            "/v1/sites" => ex(
                template.into(),
                json!({"customer_id": customer_id, "name": "HQ"}),
                Some(json!({"customer_id": customer_id, "name": "Branch"})),
                &admin,
            ),
            "/v1/contracts" => ex(
                template.into(),
                psa_testkit::fixtures::contract_body(customer_id),
                Some(
                    json!({"customer_id": customer_id, "name": "Hours", "type": "time_and_materials",
                    "start_date": "2026-01-01", "currency": "EUR"}),
                ),
                &admin,
            ),
            "/v1/tickets" => ex(
                template.into(),
                json!({"title": "VPN down", "customer_id": customer_id}),
                Some(json!({"title": "Mail down", "customer_id": customer_id})),
                &admin,
            ),
            "/v1/tickets/{id}/comments" => ex(
                format!("/v1/tickets/{ticket}/comments"),
                json!({"body": "Rebooted the router."}),
                Some(json!({"body": "Replaced the router."})),
                &admin,
            ),
            "/v1/tickets/{id}/time-entries" => ex(
                format!("/v1/tickets/{ticket}/time-entries"),
                json!({"started_at": started, "minutes": 30}),
                Some(json!({"started_at": started, "minutes": 45})),
                &admin,
            ),
            "/v1/users" => ex(
                template.into(),
                json!({"email": "eve@acme.example", "name": "Eve", "roles": ["technician"]}),
                Some(json!({"email": "fay@acme.example", "name": "Fay", "roles": ["technician"]})),
                &admin,
            ),
            "/v1/users/{id}/password" => ex(
                format!("/v1/users/{user}/password"),
                json!({"password": "another long passphrase 2"}),
                Some(json!({"password": "a third long passphrase 3"})),
                &admin,
            ),
            "/v1/users/me/password" => ex(
                template.into(),
                json!({"current_password": password, "new_password": "a fourth long passphrase 4"}),
                Some(
                    json!({"current_password": password, "new_password": "a fifth long passphrase 5"}),
                ),
                &me,
            ),
            "/v1/users/me/mfa/totp" => ex(template.into(), json!({}), None, &me),
            "/v1/roles" => ex(
                template.into(),
                json!({"name": "auditor", "permissions": ["audit:read"]}),
                Some(json!({"name": "viewer", "permissions": ["customers:read"]})),
                &admin,
            ),
            "/v1/service-accounts" => ex(
                template.into(),
                json!({"name": "infexio", "permissions": ["customers:read"]}),
                Some(json!({"name": "rmm", "permissions": ["customers:read"]})),
                &admin,
            ),
            "/v1/service-accounts/{id}/rotate-secret" => ex(
                format!("/v1/service-accounts/{account}/rotate-secret"),
                json!({"overlap_secs": 60}),
                Some(json!({"overlap_secs": 120})),
                &admin,
            ),
            "/v1/api-keys" => ex(
                template.into(),
                json!({"name": "rmm", "permissions": ["customers:read"]}),
                Some(json!({"name": "psa-sync", "permissions": ["customers:read"]})),
                &admin,
            ),
            "/v1/tenants" => ex(
                template.into(),
                json!({"slug": "initech", "name": "Initech"}),
                Some(json!({"slug": "umbrella", "name": "Umbrella"})),
                &operator,
            ),
            "/v1/tenants/{id}/suspend" => ex(
                format!("/v1/tenants/{other_tenant}/suspend"),
                json!({}),
                None,
                &operator,
            ),
            "/v1/tenants/{id}/reactivate" => ex(
                format!("/v1/tenants/{other_tenant}/reactivate"),
                json!({}),
                None,
                &operator,
            ),
            "/v1/billing/items/approve" => ex(
                template.into(),
                json!({"ids": [hours[0]]}),
                Some(json!({"ids": [hours[1]]})),
                &admin,
            ),
            "/v1/billing/items/write-off" => ex(
                template.into(),
                json!({"ids": [hours[1]]}),
                Some(json!({"ids": [hours[0]]})),
                &admin,
            ),
            "/v1/invoice-runs" => ex(
                template.into(),
                json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}}),
                Some(json!({"period": {"from": "2026-10-01", "to": "2026-10-31"}})),
                &admin,
            ),
            "/v1/invoices" => ex(
                template.into(),
                draft("40.00"),
                Some(draft("50.00")),
                &admin,
            ),
            "/v1/invoices/{id}/lines" => ex(
                format!("/v1/invoices/{open_draft}/lines"),
                line("5.00"),
                Some(line("6.00")),
                &admin,
            ),
            "/v1/invoices/{id}/release" => ex(
                format!("/v1/invoices/{to_release}/release"),
                json!({}),
                None,
                &admin,
            ),
            "/v1/invoices/{id}/credit-notes" => ex(
                format!("/v1/invoices/{released}/credit-notes"),
                json!({"reason": "goodwill"}),
                Some(json!({"reason": "a mistake"})),
                &admin,
            ),
            _ => None,
        }
    };

    let mut missing = Vec::new();
    let mut checked = 0;
    // Suspension before reactivation: the document lists paths alphabetically.
    let mut posts: Vec<String> = operations(&document())
        .into_iter()
        .filter(|(m, p, _)| *m == Method::POST && p.starts_with("/v1/"))
        .map(|(_, p, _)| p)
        .collect();
    posts.sort_by_key(|p| {
        (
            p.ends_with("/reactivate"),
            p.ends_with("/confirm"),
            p.clone(),
        )
    });
    for template in posts {
        if template == "/v1/users/me/mfa/totp/confirm" {
            continue; // below: it needs the enrolment's secret
        }
        let Some(ex) = example(&template) else {
            missing.push(template);
            continue;
        };
        let key = format!("key-{}", Uuid::now_v7());
        let first = ex.caller.post_idem(&ex.path, &key, &ex.body).await;
        assert!(first.status.is_success(), "POST {template}: {first}");
        let again = ex.caller.post_idem(&ex.path, &key, &ex.body).await;
        assert_eq!(
            again.status, first.status,
            "POST {template} replayed: {again}"
        );
        assert_eq!(
            again.body, first.body,
            "POST {template} replays the first body"
        );
        assert_eq!(again.location(), first.location(), "POST {template}");
        assert_eq!(
            again.header("idempotent-replayed"),
            Some("true"),
            "POST {template}"
        );
        if let Some(other) = &ex.other {
            ex.caller
                .post_idem(&ex.path, &key, other)
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        checked += 1;
    }
    assert!(
        missing.is_empty(),
        "POSTs without an example here: {missing:?}"
    );

    // Confirming an authenticator needs a code from the enrolment's secret.
    let enrol = me.post("/v1/users/me/mfa/totp", json!({})).await;
    assert!(enrol.status.is_success(), "{enrol}");
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrol["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let step = psa_auth::totp::step_of(chrono::Utc::now().timestamp());
    let code = psa_auth::totp::code_at_step(&secret, step, 6);
    let key = format!("key-{}", Uuid::now_v7());
    let path = "/v1/users/me/mfa/totp/confirm";
    let first = me.post_idem(path, &key, json!({"code": code})).await;
    assert!(first.status.is_success(), "POST {path}: {first}");
    let again = me.post_idem(path, &key, json!({"code": code})).await;
    assert_eq!(
        (again.status, &again.body),
        (first.status, &first.body),
        "{path}"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    me.post_idem(path, &key, json!({"code": "000000"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    checked += 1;
    assert!(checked >= 19, "only {checked} POSTs were checked");
}

/// Every list of the document (every GET with a `cursor`), on every sort it
/// offers in both directions, refuses cursors it did not issue — edited,
/// truncated, from another sort, of the wrong type — with 400
/// `invalid_cursor`, and pages on with the ones it did.
#[tokio::test]
async fn every_list_refuses_forged_cursors_on_every_sort() {
    let app = TestApp::spawn(&psa::all_modules()).await.unwrap();
    let platform = psa_auth::ensure_platform_tenant(&app.db.admin, "operator", "Operator")
        .await
        .unwrap();
    let operator = app.client_for(platform, &["tenants:admin"]);
    let tenant = psa_testkit::id_of(
        &operator
            .create("/v1/tenants", json!({"slug": "acme", "name": "Acme"}))
            .await,
    );
    operator
        .create("/v1/tenants", json!({"slug": "globex", "name": "Globex"}))
        .await;
    let tenant_permissions: Vec<&str> = all_permissions()
        .into_iter()
        .filter(|p| !psa_authn::permissions::PLATFORM_ONLY.contains(p))
        .collect();
    let admin = app.client_for(tenant, &tenant_permissions);

    // Two of everything, so a page of one has a next cursor.
    use psa_testkit::fixtures;
    let customer = fixtures::customer(&admin, "Contoso").await;
    let customer_id = psa_testkit::id_of(&customer);
    fixtures::customer(&admin, "Initech").await;
    let tickets = psa_kernel::Store::new(
        app.db.module_pool(&psa_tickets::module()).unwrap(),
        psa_tickets::DB.schema,
    );
    let mut tx = psa_kernel::Tx::for_tenant(&tickets, tenant).await.unwrap();
    psa_tickets::events::project(&mut tx, "customer.created", &customer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut ticket = Uuid::nil();
    for i in 0..2 {
        fixtures::contact(&admin, customer_id, &format!("Contact {i}")).await;
        admin
            .create(
                "/v1/sites",
                json!({"customer_id": customer_id, "name": format!("Site {i}")}),
            )
            .await;
        fixtures::contract(&admin, customer_id).await;
        ticket = psa_testkit::id_of(&fixtures::ticket(&admin, customer_id).await);
        fixtures::service_account(&admin, &["customers:read"]).await;
        fixtures::api_key(&admin, &["customers:read"], None).await;
        let email = format!("user{i}@acme.example");
        fixtures::user(
            &admin,
            &email,
            "a long enough passphrase 1",
            &["technician"],
        )
        .await;
    }
    for i in 0..2 {
        admin
            .create(
                &format!("/v1/tickets/{ticket}/comments"),
                json!({"body": format!("note {i}")}),
            )
            .await;
        let entry = admin
            .create(
                &format!("/v1/tickets/{ticket}/time-entries"),
                json!({"started_at": "2026-11-30T09:00:00Z", "minutes": 15 + i}),
            )
            .await;
        if i == 0 {
            to_billing(&app, tenant, "customer.created", &customer).await;
            let t = admin.get(&format!("/v1/tickets/{ticket}")).await.body;
            to_billing(&app, tenant, "ticket.created", &t).await;
        }
        to_billing(&app, tenant, "time_entry.logged", &entry).await;
        admin
            .create(
                "/v1/invoices",
                json!({"customer_id": customer_id, "notes": format!("draft {i}")}),
            )
            .await;
        admin
            .post(
                "/v1/invoice-runs",
                json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}}),
            )
            .await
            .assert_status(StatusCode::ACCEPTED);
        admin
            .create(
                "/v1/roles",
                json!({"name": format!("role{i}"), "permissions": ["customers:read"]}),
            )
            .await;
        // The gateway's audit log is written by the front door; two entries.
        sqlx::query(
            "insert into gateway.audit_log (tenant_id, id, request_id, subject, method, path, status, created_at)
             values ($1, $2, $3, 'u', 'POST', '/v1/customers', 201, now())",
        )
        .bind(tenant)
        .bind(Uuid::now_v7())
        .bind(format!("req-{i}"))
        .execute(&app.db.admin)
        .await
        .unwrap();
    }

    // Two credit notes (drafts) of a released invoice.
    let buyer = admin
        .create(
            "/v1/customers",
            json!({"name": "Umbrella", "address": {"line1": "Hauptstr. 1", "postal_code": "10115",
                "city": "Berlin", "country": "DE"}}),
        )
        .await;
    to_billing(&app, tenant, "customer.created", &buyer).await;
    admin
        .patch(
            "/v1/billing/settings",
            json!({"legal_name": "Muster IT GmbH", "vat_id": "DE123456789", "iban": "DE02120300000000202051",
                "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"}}),
        )
        .await
        .assert_status(StatusCode::OK);
    let invoice = admin
        .create(
            "/v1/invoices",
            json!({"customer_id": buyer["id"], "lines": [{"description": "Support", "quantity": "1", "unit_price": "95.00"}]}),
        )
        .await;
    let invoice = psa_testkit::id_of(&invoice);
    admin
        .post(&format!("/v1/invoices/{invoice}/release"), json!({}))
        .await
        .assert_status(StatusCode::OK);
    for _ in 0..2 {
        admin
            .create(&format!("/v1/invoices/{invoice}/credit-notes"), json!({}))
            .await;
    }

    let mut lists = 0;
    for (method, template, _) in operations(&document()) {
        let doc = document();
        let has_cursor = doc["paths"][&template][method.as_str().to_lowercase()]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "cursor"));
        if method != Method::GET || !has_cursor {
            continue;
        }
        let path = template
            .replace(
                "/v1/customers/{id}",
                &format!("/v1/customers/{customer_id}"),
            )
            .replace("/v1/tickets/{id}", &format!("/v1/tickets/{ticket}"));
        assert!(!path.contains('{'), "no parent for {template}");
        let caller = if path.starts_with("/v1/tenants") {
            &operator
        } else {
            &admin
        };
        let sorts = psa_testkit::cursors::refuses_forgeries_on_every_sort(caller, &path).await;
        assert!(!sorts.is_empty(), "{template} offers no sort");
        reads_in_batches(caller, &path).await;
        lists += 1;
    }
    assert!(lists >= 15, "only {lists} lists were checked");
}

/// `ids=` (API.md, batch reads) gives exactly the rows named that the
/// caller may see, and a list of ids that is not one is 400 `invalid_ids`.
async fn reads_in_batches(c: &Client, path: &str) {
    let all = c.get(path).await.assert_status(StatusCode::OK);
    let ids: Vec<&str> = all
        .items()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .take(2)
        .collect();
    assert!(!ids.is_empty(), "{path}: rows with ids");
    let stranger = Uuid::now_v7().to_string();
    let asked = format!("{path}?ids={},{stranger}", ids.join(","));
    let got = c.get(&asked).await.assert_status(StatusCode::OK);
    let mut got: Vec<&str> = got
        .items()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "{asked}");
    let too_many = vec![stranger.as_str(); 101].join(",");
    for bad in ["nope", "", &too_many, "0192d1c1e0c37c2a8e3f6a1b2c3d4e5f"] {
        c.get(&format!("{path}?ids={bad}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_ids");
    }
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
