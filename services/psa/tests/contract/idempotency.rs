//! `Idempotency-Key` on every POST, each fed a valid request.

use super::*;

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

    // Assets: the customer in its projection, a license with seats, assets
    // to give them to.
    to_assets(&app, tenant, "customer.created", &customer).await;
    let license = psa_testkit::id_of(
        &admin
            .create(
                "/v1/licenses",
                json!({"customer_id": customer_id, "product": "Suite", "seats": 5}),
            )
            .await,
    );
    let mut pcs = vec![];
    for i in 0..2 {
        pcs.push(psa_testkit::id_of(
            &admin
                .create(
                    "/v1/assets",
                    json!({"customer_id": customer_id, "name": format!("pc-{i}"), "type": "workstation"}),
                )
                .await,
        ));
    }
    // Notify: a subscription to a public address, and a dead letter of a
    // second one (disabled while the letter is made, so no attempt races it).
    let hook = psa_testkit::id_of(
        &admin
            .create(
                "/v1/webhooks",
                json!({"url": "https://93.184.215.14/hook", "event_types": ["*"], "enabled": false}),
            )
            .await,
    );
    let dead_letter = to_notify_dead_letter(&app, tenant, hook).await;

    let channel = psa_testkit::id_of(
        &admin
            .create(
                "/v1/notification-channels",
                json!({"name": "Dispatch", "kind": "teams",
                    "teams": {"webhook_url": "https://93.184.215.14/teams"}}),
            )
            .await,
    );

    let device = |n: u32| {
        json!({"records": [{"source": "ninja", "external_id": format!("dev-{n}"),
            "customer_id": customer_id, "hostname": format!("PC-{n}")}]})
    };

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
            "/v1/assets" => ex(
                template.into(),
                json!({"customer_id": customer_id, "name": "srv-01", "type": "server"}),
                Some(json!({"customer_id": customer_id, "name": "srv-02", "type": "server"})),
                &admin,
            ),
            "/v1/asset-types" => ex(
                template.into(),
                json!({"key": "ups", "name": "UPS"}),
                Some(json!({"key": "pdu", "name": "PDU"})),
                &admin,
            ),
            "/v1/webhooks" => ex(
                template.into(),
                json!({"url": "https://93.184.215.14/a", "event_types": ["ticket.*"]}),
                Some(json!({"url": "https://93.184.215.14/b", "event_types": ["ticket.*"]})),
                &admin,
            ),
            "/v1/notification-channels" => ex(
                template.into(),
                json!({"name": "Ops", "kind": "teams", "teams": {"webhook_url": "https://93.184.215.14/a"}}),
                Some(
                    json!({"name": "Ops", "kind": "teams", "teams": {"webhook_url": "https://93.184.215.14/b"}}),
                ),
                &admin,
            ),
            "/v1/notification-rules" => ex(
                template.into(),
                json!({"name": "SLA", "event_types": ["ticket.sla_breached"], "channel_id": channel}),
                Some(json!({"name": "All", "event_types": ["*"], "channel_id": channel})),
                &admin,
            ),
            "/v1/webhooks/{id}/rotate-secret" => ex(
                format!("/v1/webhooks/{hook}/rotate-secret"),
                json!({}),
                None,
                &admin,
            ),
            "/v1/webhooks/{id}/test" => {
                ex(format!("/v1/webhooks/{hook}/test"), json!({}), None, &admin)
            }
            "/v1/webhooks/{id}/recover" => ex(
                format!("/v1/webhooks/{hook}/recover"),
                json!({"since": started}),
                Some(json!({"since": "2026-11-01T00:00:00Z"})),
                &admin,
            ),
            "/v1/dead-letters/{id}/replay" => ex(
                format!("/v1/dead-letters/{dead_letter}/replay"),
                json!({}),
                None,
                &admin,
            ),
            "/v1/licenses" => ex(
                template.into(),
                json!({"customer_id": customer_id, "product": "Backup", "seats": 1, "license_key": "K-1"}),
                Some(
                    json!({"customer_id": customer_id, "product": "Backup", "seats": 1, "license_key": "K-2"}),
                ),
                &admin,
            ),
            "/v1/licenses/{id}/assignments" => ex(
                format!("/v1/licenses/{license}/assignments"),
                json!({"asset_id": pcs[0]}),
                Some(json!({"asset_id": pcs[1]})),
                &admin,
            ),
            "/v1/inventory" => ex(template.into(), device(1), Some(device(2)), &admin),
            "/v1/eol-mappings" => ex(
                template.into(),
                json!({"manufacturer": "Fortinet", "model": "FortiGate 60F", "product": "fortios", "cycle": "7.4"}),
                Some(
                    json!({"manufacturer": "Fortinet", "model": "FortiGate 80F", "product": "fortios", "cycle": "7.4"}),
                ),
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
