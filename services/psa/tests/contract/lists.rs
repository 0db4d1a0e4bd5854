//! Every list: forged cursors refused on every sort, batch reads by `ids=`
//! and `per=`.

use psa_testkit::batch::with_query;

use super::*;

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

    // Assets: two assets, two licenses, two seats, two model mappings.
    to_assets(&app, tenant, "customer.created", &customer).await;
    let mut license = Uuid::nil();
    for i in 0..2 {
        let asset = admin
            .create(
                "/v1/assets",
                json!({"customer_id": customer_id, "name": format!("pc-{i}"), "type": "workstation"}),
            )
            .await;
        license = psa_testkit::id_of(
            &admin
                .create(
                    "/v1/licenses",
                    json!({"customer_id": customer_id, "product": format!("Suite {i}"), "seats": 5,
                        "license_key": format!("KEY-{i}")}),
                )
                .await,
        );
        admin
            .create(
                &format!("/v1/licenses/{license}/assignments"),
                json!({"asset_id": asset["id"]}),
            )
            .await;
        admin
            .create(
                "/v1/eol-mappings",
                json!({"manufacturer": "Fortinet", "model": format!("FG-{i}"),
                    "product": "fortios", "cycle": "7.4"}),
            )
            .await;
    }
    for _ in 0..2 {
        admin
            .get(&format!("/v1/licenses/{license}/key"))
            .await
            .assert_status(StatusCode::OK);
    }
    let asset = psa_testkit::id_of(&admin.all("/v1/assets").await[0]);
    admin
        .create(
            &format!("/v1/licenses/{license}/assignments"),
            json!({"asset_id": asset}),
        )
        .await;

    // Notify: two subscriptions (disabled: no dispatcher races the rows
    // made here), two dead letters, two attempts in one's log.
    let notify = notify_store(&app);
    let mut webhook = Uuid::nil();
    for i in 0..2 {
        webhook = psa_testkit::id_of(
            &admin
                .create(
                    "/v1/webhooks",
                    json!({"url": format!("https://93.184.215.14/{i}"), "event_types": ["*"],
                        "enabled": false}),
                )
                .await,
        );
    }
    let mut tx = psa_kernel::Tx::for_tenant(&notify, tenant).await.unwrap();
    for i in 0..2 {
        let event = psa_testkit::broker::event(tenant, "ticket.created", json!({"i": i}));
        let delivery = psa_notify::repo::deliveries::enqueue(&mut tx, webhook, &event, false)
            .await
            .unwrap()
            .unwrap();
        let due = psa_notify::repo::deliveries::due(&mut tx, delivery)
            .await
            .unwrap()
            .unwrap();
        let attempt = psa_notify::repo::deliveries::AttemptRecord {
            delivery: &due,
            outcome: psa_notify::domain::AttemptOutcome::Failed,
            status_code: Some(500),
            duration_ms: 12,
            error: Some("answered 500".into()),
            response_body: Some(String::new()),
            at: chrono::Utc::now(),
        };
        psa_notify::repo::deliveries::record(
            &mut tx,
            &attempt,
            psa_notify::repo::deliveries::After::Dead,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // Two channels, two rules, two messages in one channel's log.
    let mut channel = Uuid::nil();
    for i in 0..2 {
        channel = psa_testkit::id_of(
            &admin
                .create(
                    "/v1/notification-channels",
                    json!({"name": format!("Mail {i}"), "kind": "email",
                        "email": {"host": "93.184.215.14", "from": "psa@acme.example"}}),
                )
                .await,
        );
        admin
            .create(
                "/v1/notification-rules",
                json!({"name": format!("Rule {i}"), "event_types": ["ticket.*"], "channel_id": channel,
                    "recipients": [{"type": "address", "address": "a@acme.example"},
                        {"type": "address", "address": "b@acme.example"}]}),
            )
            .await;
    }
    let mut tx = psa_kernel::Tx::for_tenant(&notify, tenant).await.unwrap();
    let event = psa_testkit::broker::event(tenant, "ticket.created", json!({"title": "x"}));
    let cap = psa_notify::workers::cap(&app.config.notify);
    psa_notify::workers::handle(&mut tx, &event, cap)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut lists = 0;
    let mut per_lists = 0;
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
            .replace("/v1/tickets/{id}", &format!("/v1/tickets/{ticket}"))
            .replace("/v1/licenses/{id}", &format!("/v1/licenses/{license}"))
            .replace("/v1/webhooks/{id}", &format!("/v1/webhooks/{webhook}"))
            .replace(
                "/v1/notification-channels/{id}",
                &format!("/v1/notification-channels/{channel}"),
            );
        // A list whose filter is required: the comments of one ticket.
        let path = match template.as_str() {
            "/v1/ticket-comments" => format!("{path}?ticket_id={ticket}"),
            _ => path,
        };
        assert!(!path.contains('{'), "no parent for {template}");
        let caller = if path.starts_with("/v1/tenants") {
            &operator
        } else {
            &admin
        };
        let sorts = psa_testkit::cursors::refuses_forgeries_on_every_sort(caller, &path).await;
        assert!(!sorts.is_empty(), "{template} offers no sort");
        reads_in_batches(caller, &path).await;
        let per = &doc["paths"][&template]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "per"))
            .map(|p| p["schema"]["enum"].clone());
        if let Some(names) = per {
            refuses_per_without_its_filter(caller, &path, names).await;
            per_lists += 1;
        }
        lists += 1;
    }
    assert!(lists >= 15, "only {lists} lists were checked");
    assert!(
        per_lists >= 9,
        "only {per_lists} lists with per= were checked"
    );
}

/// `per=` names a filter the request must give (as a list of ids), and
/// reads no further pages: 400 `invalid_per` without it or with a cursor.
async fn refuses_per_without_its_filter(c: &Client, path: &str, names: &Value) {
    let names: Vec<&str> = names
        .as_array()
        .unwrap_or_else(|| panic!("{path}: the filters per may name"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!names.is_empty(), "{path}: per names some filter");
    for name in names {
        let refused = if path.contains(&format!("{name}=")) {
            format!(
                "per={name}&cursor={}",
                psa_http::keyset::id_cursor(false, Uuid::nil())
            )
        } else {
            format!("per={name}")
        };
        c.get(&with_query(path, &refused))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_per");
    }
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
    let asked = with_query(path, &format!("ids={},{stranger}", ids.join(",")));
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
        c.get(&with_query(path, &format!("ids={bad}")))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_ids");
    }
}
