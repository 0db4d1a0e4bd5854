//! What billing reads of customers and contracts: tax ids, e-invoice
//! format, VAT treatment, payment terms, billing address; a contract's
//! billing increment and billing day. Bounds as the document states them,
//! clearing by merge patch, and the rule across fields.

use psa_testkit::{Client, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{app, caller};

fn billing_address() -> Value {
    json!({"line1": "Rechnungsstelle, Postfach 10 20 30", "postal_code": "10115",
        "city": "Berlin", "country": "DE"})
}

/// A customer with every billing field set.
fn full_customer() -> Value {
    json!({
        "name": "Bundesamt für Beispiele",
        "vat_id": "ATU12345678",
        "tax_number": "21/815/08150",
        "leitweg_id": "04011000-1234512345-06",
        "payment_terms_days": 30,
        "invoice_email": "rechnung@beispiel.example",
        "einvoice_format": "xrechnung",
        "vat_treatment": "reverse_charge",
        "billing_address": billing_address(),
    })
}

const CLEARABLE: [&str; 6] = [
    "vat_id",
    "tax_number",
    "leitweg_id",
    "payment_terms_days",
    "invoice_email",
    "billing_address",
];

/// POSTs `body` and asserts a 422 that names exactly `field`.
async fn refused(c: &Client, path: &str, body: Value, field: &str) -> Value {
    let p = c
        .post(path, &body)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), [field], "{body}");
    p.body
}

#[tokio::test]
async fn billing_fields_round_trip_and_default() {
    let app = app().await;
    let c = caller(&app);
    let created = c.create("/v1/customers", full_customer()).await;
    for (field, value) in full_customer().as_object().unwrap() {
        assert_eq!(&created[field], value, "{field}");
    }
    let path = format!("/v1/customers/{}", created["id"].as_str().unwrap());
    assert_eq!(c.get(&path).await.body, created);

    let plain = fixtures::customer(&c, "Plain").await;
    for field in CLEARABLE {
        assert_eq!(plain[field], Value::Null, "{field}");
    }
    assert_eq!(plain["einvoice_format"], "zugferd");
    assert_eq!(plain["vat_treatment"], "standard");

    let id = plain["id"].as_str().unwrap();
    let contract = fixtures::contract(&c, id).await;
    assert_eq!(contract["billing_increment_minutes"], 15);
    assert_eq!(contract["billing_day"], 1);
    let mut body = fixtures::contract_body(id);
    body["billing_increment_minutes"] = json!(6);
    body["billing_day"] = json!(15);
    let contract = c.create("/v1/contracts", body).await;
    assert_eq!(contract["billing_increment_minutes"], 6);
    assert_eq!(contract["billing_day"], 15);
    let path = format!("/v1/contracts/{}", contract["id"].as_str().unwrap());
    assert_eq!(c.get(&path).await.body, contract);

    // Each end of each range is taken.
    for (field, value) in [
        ("payment_terms_days", json!(0)),
        ("payment_terms_days", json!(365)),
        (
            "leitweg_id",
            json!(format!("{}-{}-99", "1".repeat(12), "a".repeat(30))),
        ),
        ("leitweg_id", json!("99-01")),
        ("vat_id", json!("DE12")),
        ("vat_id", json!("FR0X+*.4567890")),
        ("tax_number", json!("1")),
        ("tax_number", json!("1".repeat(30))),
    ] {
        let mut body = fixtures::customer_body("Edge");
        body[field] = value.clone();
        assert_eq!(c.create("/v1/customers", body).await[field], value);
    }
    for (field, value) in [
        ("billing_increment_minutes", 1),
        ("billing_increment_minutes", 60),
        ("billing_day", 28),
    ] {
        let mut body = fixtures::contract_body(id);
        body[field] = json!(value);
        assert_eq!(c.create("/v1/contracts", body).await[field], value);
    }
}

#[tokio::test]
async fn every_billing_bound_is_a_422_naming_its_field() {
    let app = app().await;
    let c = caller(&app);
    for (field, value) in [
        ("vat_id", json!("de123456789")),
        ("vat_id", json!("DE 123456789")),
        ("vat_id", json!("DE1")),
        ("vat_id", json!("DE1234567890123")),
        ("vat_id", json!("123456789")),
        ("vat_id", json!("")),
        ("tax_number", json!("")),
        ("tax_number", json!(" / ")),
        ("tax_number", json!("21/815/0815a")),
        ("tax_number", json!("1".repeat(31))),
        ("leitweg_id", json!("04011000-1234512345")),
        ("leitweg_id", json!("1-06")),
        ("leitweg_id", json!("0401100012345-06")),
        ("leitweg_id", json!(format!("01-{}-06", "a".repeat(31)))),
        ("leitweg_id", json!("04011000-12345_12345-06")),
        ("payment_terms_days", json!(-1)),
        ("payment_terms_days", json!(366)),
        ("payment_terms_days", json!("30")),
        ("payment_terms_days", json!(1.5)),
        ("invoice_email", json!("nope")),
        ("einvoice_format", json!("xml")),
        ("einvoice_format", Value::Null),
        ("vat_treatment", json!("domestic")),
        ("vat_treatment", Value::Null),
    ] {
        let mut body = fixtures::customer_body("Bounded");
        body[field] = value;
        refused(&c, "/v1/customers", body, field).await;
    }
    let mut body = fixtures::customer_body("Bounded");
    body["billing_address"] = json!({"line1": "A 1", "city": "Berlin", "country": "de"});
    refused(&c, "/v1/customers", body, "billing_address.country").await;

    let id = fixtures::customer(&c, "Contracted").await["id"].clone();
    for (field, value) in [
        ("billing_increment_minutes", json!(0)),
        ("billing_increment_minutes", json!(61)),
        ("billing_increment_minutes", Value::Null),
        ("billing_day", json!(0)),
        ("billing_day", json!(29)),
        ("billing_day", json!("1")),
    ] {
        let mut body = fixtures::contract_body(&id);
        body[field] = value;
        refused(&c, "/v1/contracts", body, field).await;
    }
    assert!(
        c.get("/v1/contracts").await.items().is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn a_merge_patch_clears_the_optional_billing_fields_only() {
    let app = app().await;
    let c = caller(&app);
    let mut body = full_customer();
    body["vat_treatment"] = json!("export");
    let customer = c.create("/v1/customers", body).await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().unwrap());

    let clear: serde_json::Map<String, Value> = CLEARABLE
        .iter()
        .map(|f| ((*f).to_owned(), Value::Null))
        .collect();
    let cleared = c
        .patch(&path, Value::Object(clear))
        .await
        .assert_status(StatusCode::OK);
    for field in CLEARABLE {
        assert_eq!(cleared[field], Value::Null, "{field}");
    }
    assert_eq!(cleared["version"], 2);
    assert_eq!(cleared["einvoice_format"], "xrechnung", "not in the patch");

    // Fields with a default take values, not null.
    for field in ["einvoice_format", "vat_treatment"] {
        let p = c
            .patch(&path, json!({ field: null }))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(p.error_fields(), [field]);
    }
    let changed = c
        .patch(
            &path,
            json!({"einvoice_format": "pdf", "payment_terms_days": 14}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(changed["einvoice_format"], "pdf");
    assert_eq!(changed["payment_terms_days"], 14);

    let contract = fixtures::contract(&c, customer["id"].as_str().unwrap()).await;
    let cpath = format!("/v1/contracts/{}", contract["id"].as_str().unwrap());
    for field in ["billing_increment_minutes", "billing_day"] {
        let p = c
            .patch(&cpath, json!({ field: null }))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(p.error_fields(), [field]);
    }
    let p = c
        .patch(&cpath, json!({"billing_day": 31}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["billing_day"]);
    let patched = c
        .patch(
            &cpath,
            json!({"billing_increment_minutes": 30, "billing_day": 10}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(patched["billing_increment_minutes"], 30);
    assert_eq!(patched["billing_day"], 10);
    assert_eq!(patched["version"], 2);
}

/// Reverse charge (AE) and intra-EU supplies (K) name the buyer's VAT id on
/// the invoice: without one the customer is refused, on `vat_id`.
#[tokio::test]
async fn eu_b2b_vat_treatments_need_a_vat_id() {
    let app = app().await;
    let c = caller(&app);
    for treatment in ["reverse_charge", "intra_eu_supply"] {
        let mut body = fixtures::customer_body("EU business");
        body["vat_treatment"] = json!(treatment);
        let p = refused(&c, "/v1/customers", body.clone(), "vat_id").await;
        assert_eq!(p["errors"][0]["code"], "inconsistent", "{p}");
        body["vat_id"] = json!("NL123456789B01");
        assert_eq!(
            c.create("/v1/customers", body).await["vat_treatment"],
            treatment
        );
    }

    let customer = fixtures::customer(&c, "Becomes EU").await;
    let path = format!("/v1/customers/{}", customer["id"].as_str().unwrap());
    let p = c
        .patch(&path, json!({"vat_treatment": "reverse_charge"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["vat_id"]);
    assert_eq!(p["errors"][0]["code"], "inconsistent");
    c.patch(
        &path,
        json!({"vat_treatment": "reverse_charge", "vat_id": "BE0123456789"}),
    )
    .await
    .assert_status(StatusCode::OK);
    // Its VAT id cannot go while the treatment needs it.
    let p = c
        .patch(&path, json!({"vat_id": null}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(p.error_fields(), ["vat_id"]);
    let back = c
        .patch(&path, json!({"vat_id": null, "vat_treatment": "standard"}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(back["vat_id"], Value::Null);
}
