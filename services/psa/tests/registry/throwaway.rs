//! A throw-away module added through the registry alone.

use super::*;

#[tokio::test]
async fn a_module_added_to_the_registry_is_routed_authorised_catalogued_and_migrated() {
    let registry = Arc::new(Registry::new(with_widgets()).unwrap());
    let password = Uuid::new_v4().simple().to_string();
    let pw = password.clone();
    let front_door = registry.clone();
    let app = TestApp::spawn_custom(
        &with_widgets(),
        move |cfg| {
            // Where the server asks for passwords, the new role has one too.
            cfg.database.role_passwords.insert("widgets".into(), pw);
        },
        move |cfg, verifier| psa_gateway::app(cfg, front_door, &["auth", "widgets"], verifier),
    )
    .await
    .expect("the platform starts");
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&psa_testkit::admin_url())
            .await
            .unwrap();
        psa_db::set_role_password(&mut admin, WIDGETS_DB.role, &password)
            .await
            .unwrap();
    }

    // Its schema was migrated, under the platform's tenant isolation.
    let forced: Option<bool> = sqlx::query_scalar(
        "select c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'widgets' and c.relname = 'widgets'",
    )
    .fetch_optional(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(forced, Some(true), "widgets.widgets exists with forced RLS");

    let (tenant, _) = app.auth_tenant().await.unwrap();
    for (t, name) in [(tenant, "sprocket"), (Uuid::now_v7(), "someone else's")] {
        sqlx::query("insert into widgets.widgets (tenant_id, id, name) values ($1, $2, $3)")
            .bind(t)
            .bind(Uuid::now_v7())
            .bind(name)
            .execute(&app.db.admin)
            .await
            .unwrap();
    }

    // Its route is served through the gateway, behind the edge's checks.
    let reader = app.client_for(tenant, &["widgets:read"]);
    let res = reader
        .get("/v1/widgets")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.body["data"][0]["name"], "sprocket");
    assert_eq!(
        res.body["data"].as_array().unwrap().len(),
        1,
        "its tenant's only"
    );
    reader
        .anonymous()
        .get("/v1/widgets")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.client_for(tenant, &["customers:read"])
        .get("/v1/widgets")
        .await
        .assert_status(StatusCode::FORBIDDEN);

    // Its permission is in the catalogue the auth module grants from.
    let admin = app.client_for(tenant, &["roles:read", "roles:write", "widgets:read"]);
    admin
        .post(
            "/v1/roles",
            json!({"name": "widget-readers", "permissions": ["widgets:read"]}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    admin
        .post(
            "/v1/roles",
            json!({"name": "widget-writers", "permissions": ["widgets:write"]}),
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let roles = admin.get("/v1/roles").await.assert_status(StatusCode::OK);
    let builtin_admin = roles.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "admin")
        .unwrap()
        .clone();
    assert!(
        builtin_admin["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("widgets:read")),
        "the admin role holds every registered tenant permission"
    );

    // Its events are in the event catalogue.
    let doc = psa_runtime::asyncapi::document(&registry).unwrap();
    let published: Vec<(&str, &EventSpec)> = registry.events().map(|(m, e)| (m.name, e)).collect();
    check_asyncapi(&doc, &published);
    assert_eq!(
        doc["components"]["messages"]["widget.created"]["payload"]["properties"]["data"]["$ref"],
        "#/components/schemas/Widget"
    );
}
