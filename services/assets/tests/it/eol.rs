//! End-of-life data: the shipped snapshot fills `eol_date` from the
//! operating system, a tenant's mapping from the model; an import replaces
//! the snapshot.

use reqwest::StatusCode;
use serde_json::json;

use crate::World;

#[tokio::test]
async fn the_snapshot_and_mappings_fill_the_end_of_life() {
    let w = World::new().await;
    psa_assets::repo::eol::ensure_shipped(&w.pool())
        .await
        .unwrap();
    let customer = w.customer().await;
    let srv = w
        .asset(
            customer,
            json!({"os_name": "Microsoft Windows Server 2016 Standard",
            "os_version": "10.0.14393"}),
        )
        .await;
    assert_eq!(srv["eol_date"], "2027-01-12");
    assert_eq!(srv["eol_source"], "endoflife.date:windows-server/2016");
    let own = w
        .asset(
            customer,
            json!({"os_name": "Ubuntu", "os_version": "22.04.4 LTS", "eol_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(own["eol_date"], "2026-12-31", "a date given is kept");
    assert_eq!(own["eol_source"], "manual");

    let fw = w
        .asset(
            customer,
            json!({"name": "fw-01", "type": "firewall", "manufacturer": "Fortinet",
            "model": "FortiGate 60F"}),
        )
        .await;
    assert_eq!(fw["eol_date"], serde_json::Value::Null);
    let catalog =
        w.c.get("/v1/eol-products")
            .await
            .assert_status(StatusCode::OK)
            .body;
    let fortios = catalog["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["product"] == "fortios")
        .expect("FortiOS in the snapshot");
    let cycle = &fortios["cycles"][0];
    let mapping =
        w.c.create(
            "/v1/eol-mappings",
            json!({"manufacturer": "fortinet", "model": "FortiGate 60F",
            "product": "fortios", "cycle": cycle["cycle"]}),
        )
        .await;
    assert_eq!(mapping["eol"], cycle["eol"]);
    let fw =
        w.c.get(&format!("/v1/assets/{}", fw["id"].as_str().unwrap()))
            .await
            .body;
    assert_eq!(fw["eol_date"], cycle["eol"]);
    assert_eq!(fw["version"], 2);
    let res =
        w.c.post(
            "/v1/eol-mappings",
            json!({"manufacturer": "x", "model": "y", "product": "fortios", "cycle": "0.1"}),
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_fields(), ["cycle"]);
    assert_eq!(w.c.all("/v1/eol-mappings").await.len(), 1);
}
