//! Assets and their types over HTTP: the rules, filters, isolation,
//! idempotency and preconditions every resource of the API follows.

use psa_testkit::cursors;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::World;

#[tokio::test]
async fn an_asset_with_typed_custom_fields_is_recorded_changed_and_deleted() {
    let w = World::new().await;
    let customer = w.customer().await;
    let site = w.site(customer).await;
    let contact = w.contact(customer, "erika@contoso.example").await;
    w.c.create(
        "/v1/asset-types",
        json!({"key": "nas", "name": "NAS", "fields": [
            {"key": "bays", "label": "Bays", "type": "integer", "required": true},
            {"key": "raid", "label": "RAID", "type": "select", "options": ["5", "6", "10"]}]}),
    )
    .await;
    let res =
        w.c.post(
            "/v1/assets",
            json!({"customer_id": customer, "site_id": site, "contact_id": contact,
                "name": "nas-01", "type": "nas", "manufacturer": "Synology", "model": "DS923+",
                "serial_number": "SN-1", "purchase_price": "649.00", "currency": "EUR",
                "warranty_end": "2028-05-31", "custom_fields": {"bays": 4, "raid": "6"},
                "external_ids": {"infexio": "cfg-17"}}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let asset = res.body.clone();
    let id = asset["id"].as_str().unwrap().to_owned();
    assert_eq!(res.location(), Some(format!("/v1/assets/{id}").as_str()));
    assert_eq!(res.etag(), Some("\"1\""));
    assert_eq!(asset["status"], "deployed");
    assert_eq!(asset["purchase_price"], "649.00");
    assert_eq!(asset["custom_fields"]["bays"], 4);
    assert_eq!(asset["manual_fields"], json!([]));

    let got =
        w.c.get(&format!("/v1/assets/{id}"))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(got.body, asset);

    let patched =
        w.c.patch_if_match(
            &format!("/v1/assets/{id}"),
            "\"1\"",
            json!({"name": "nas-backup"}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(patched.body["version"], 2);
    assert_eq!(
        patched.body["manual_fields"],
        json!(["name"]),
        "the name is the MSP's now"
    );
    w.c.patch_if_match(
        &format!("/v1/assets/{id}"),
        "\"1\"",
        json!({"name": "late"}),
    )
    .await
    .assert_problem(StatusCode::PRECONDITION_FAILED, "stale_version");
    let same =
        w.c.patch(&format!("/v1/assets/{id}"), json!({"name": "nas-backup"}))
            .await
            .assert_status(StatusCode::OK);
    assert_eq!(
        same.body["version"], 2,
        "a patch that changes nothing is no new version"
    );

    w.c.delete(&format!("/v1/assets/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    w.c.get(&format!("/v1/assets/{id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_tenant_s_data_and_the_type_s_fields_are_checked() {
    let w = World::new().await;
    let customer = w.customer().await;
    let other = w.customer().await;
    let others_site = w.site(other).await;
    let bad = |res: psa_testkit::TestResponse| {
        let res = res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        res.error_fields()
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
    };
    let post = |body| w.c.post("/v1/assets", body);
    assert_eq!(
        bad(post(json!({"customer_id": Uuid::now_v7(), "name": "x", "type": "server"})).await),
        ["customer_id"]
    );
    assert_eq!(
        bad(post(json!({"customer_id": customer, "name": "x", "type": "toaster"})).await),
        ["type"]
    );
    assert_eq!(
        bad(post(
            json!({"customer_id": customer, "name": "x", "type": "server",
            "site_id": others_site})
        )
        .await),
        ["site_id"],
        "a site of another customer"
    );
    assert_eq!(
        bad(post(
            json!({"customer_id": customer, "name": "x", "type": "server",
            "custom_fields": {"colour": "red"}})
        )
        .await),
        ["custom_fields.colour"]
    );
    assert_eq!(
        bad(post(
            json!({"customer_id": customer, "name": "x", "type": "server",
            "purchase_price": "12.5"})
        )
        .await),
        ["currency"]
    );
    post(
        json!({"customer_id": customer, "name": "x", "type": "server",
        "purchase_price": "-1", "currency": "EUR"}),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    // Serial numbers are unique per manufacturer.
    w.asset(
        customer,
        json!({"manufacturer": "Dell", "serial_number": "ABC"}),
    )
    .await;
    post(
        json!({"customer_id": customer, "name": "y", "type": "server",
        "manufacturer": "DELL", "serial_number": "ABC"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "serial_number_taken");
    w.asset(
        customer,
        json!({"manufacturer": "HP", "serial_number": "ABC"}),
    )
    .await;

    // Parents: no cycles, and a parent with children stays.
    let host = w.asset(customer, json!({"name": "esx-01"})).await;
    let vm = w
        .asset(
            customer,
            json!({"name": "vm-01", "type": "virtual_machine", "parent_id": host["id"]}),
        )
        .await;
    let vm2 = w
        .asset(
            customer,
            json!({"name": "vm-02", "type": "virtual_machine", "parent_id": vm["id"]}),
        )
        .await;
    let host_path = format!("/v1/assets/{}", host["id"].as_str().unwrap());
    let res = w.c.patch(&host_path, json!({"parent_id": vm2["id"]})).await;
    assert_eq!(bad(res), ["parent_id"], "a cycle over two levels");
    let res =
        w.c.patch(&host_path, json!({"parent_id": host["id"]}))
            .await;
    assert_eq!(bad(res), ["parent_id"], "its own parent");
    w.c.delete(&host_path)
        .await
        .assert_problem(StatusCode::CONFLICT, "asset_has_children");
    let children =
        w.c.get(&format!(
            "/v1/assets?parent_id={}",
            host["id"].as_str().unwrap()
        ))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(children.items().len(), 1);
}

#[tokio::test]
async fn lists_filter_page_and_refuse_forged_cursors() {
    let w = World::new().await;
    let a = w.customer().await;
    let b = w.customer().await;
    let old = w
        .asset(
            a,
            json!({"name": "old", "type": "workstation", "status": "retired",
            "eol_date": "2025-01-31", "warranty_end": "2024-06-30", "serial_number": "S-OLD"}),
        )
        .await;
    w.asset(
        a,
        json!({"name": "new", "type": "laptop", "eol_date": "2030-01-31",
        "warranty_end": "2029-06-30", "serial_number": "S-NEW"}),
    )
    .await;
    let other = w.asset(b, json!({"name": "b's"})).await;
    let names = |path: String| {
        let c = w.c.clone();
        async move {
            let mut n: Vec<String> = c
                .all(&path)
                .await
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(
        names(format!("/v1/assets?customer_id={a}")).await,
        ["new", "old"]
    );
    assert_eq!(names("/v1/assets?type=laptop".into()).await, ["new"]);
    assert_eq!(names("/v1/assets?status=retired".into()).await, ["old"]);
    assert_eq!(
        names("/v1/assets?eol_before=2026-01-01".into()).await,
        ["old"]
    );
    assert_eq!(
        names("/v1/assets?warranty_before=2030-01-01".into()).await,
        ["new", "old"]
    );
    assert_eq!(names("/v1/assets?serial=S-NEW".into()).await, ["new"]);
    assert_eq!(
        names(format!(
            "/v1/assets?ids={},{}",
            old["id"].as_str().unwrap(),
            other["id"].as_str().unwrap()
        ))
        .await,
        ["b's", "old"]
    );
    let since = other["updated_at"].as_str().unwrap().replace('+', "%2B");
    assert_eq!(
        names(format!("/v1/assets?updated_since={since}")).await,
        ["b's"]
    );
    for bad in [
        "status=lost",
        "eol_before=2026-13-01",
        "customer_id=nope",
        "sort=serial",
    ] {
        w.c.get(&format!("/v1/assets?{bad}"))
            .await
            .assert_status(StatusCode::BAD_REQUEST);
    }
    cursors::refuses_forgeries_on_every_sort(&w.c, "/v1/assets").await;
}

#[tokio::test]
async fn another_tenant_s_assets_are_not_there() {
    let w = World::new().await;
    let customer = w.customer().await;
    let asset = w.asset(customer, json!({})).await;
    let path = format!("/v1/assets/{}", asset["id"].as_str().unwrap());
    let (other_tenant, other) = w.app.new_tenant(crate::PERMS);
    w.customer_in(other_tenant, json!({})).await;
    other
        .get(&path)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    other
        .patch(&path, json!({"name": "mine"}))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    other
        .delete(&path)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(other.all("/v1/assets").await.is_empty());
    let res = other
        .post(
            "/v1/assets",
            json!({"customer_id": customer, "name": "x", "type": "server"}),
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.error_fields(),
        ["customer_id"],
        "the other tenant's customer is unknown"
    );
    let reader = w.app.client_for(w.tenant, &["assets:read"]);
    reader
        .post(
            "/v1/assets",
            json!({"customer_id": customer, "name": "x", "type": "server"}),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    w.c.get(&path).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_retried_create_records_one_asset() {
    let w = World::new().await;
    let customer = w.customer().await;
    let body = json!({"customer_id": customer, "name": "once", "type": "server"});
    let first =
        w.c.post_idem("/v1/assets", "k-1", &body)
            .await
            .assert_status(StatusCode::CREATED);
    let again =
        w.c.post_idem("/v1/assets", "k-1", &body)
            .await
            .assert_status(StatusCode::CREATED);
    assert_eq!(first.body, again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    w.c.post_idem(
        "/v1/assets",
        "k-1",
        json!({"customer_id": customer, "name": "twice", "type": "server"}),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.c.all("/v1/assets").await.len(), 1);
}

#[tokio::test]
async fn the_type_catalogue() {
    let w = World::new().await;
    let keys: Vec<String> =
        w.c.all("/v1/asset-types?sort=key")
            .await
            .iter()
            .map(|t| t["key"].as_str().unwrap().to_owned())
            .collect();
    for k in [
        "workstation",
        "server",
        "laptop",
        "firewall",
        "switch",
        "printer",
        "cloud_tenant",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
    }
    let t =
        w.c.create("/v1/asset-types", json!({"key": "ups", "name": "UPS"}))
            .await;
    w.c.post("/v1/asset-types", json!({"key": "ups", "name": "Again"}))
        .await
        .assert_problem(StatusCode::CONFLICT, "asset_type_taken");
    let path = format!("/v1/asset-types/{}", t["id"].as_str().unwrap());
    let res =
        w.c.patch(&path, json!({"key": "power"}))
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_fields(), ["key"]);
    let customer = w.customer().await;
    w.asset(customer, json!({"type": "ups"})).await;
    w.c.delete(&path)
        .await
        .assert_problem(StatusCode::CONFLICT, "asset_type_in_use");
    // A field made required afterwards is checked at the asset's next write.
    w.c.patch(
        &path,
        json!({"fields": [{"key": "va", "label": "VA", "type": "integer", "required": true}]}),
    )
    .await
    .assert_status(StatusCode::OK);
    let res =
        w.c.post(
            "/v1/assets",
            json!({"customer_id": customer, "name": "u", "type": "ups"}),
        )
        .await;
    assert_eq!(
        res.assert_status(StatusCode::UNPROCESSABLE_ENTITY)
            .error_fields(),
        ["custom_fields.va"]
    );
}
