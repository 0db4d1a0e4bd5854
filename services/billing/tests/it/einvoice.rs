//! E-invoices, checked by the real checkers: the XML (XRechnung 3.0 or EN
//! 16931 CII) and the ZUGFeRD PDF of released documents of every kind an
//! MSP issues pass the official EN 16931 rules (`scripts/einvoice validate`,
//! CEN's artefacts), XRechnung's national rules (`scripts/einvoice xrechnung`)
//! and factur-x's own check; the PDF renders and reads. Every download is
//! the same bytes, hashed in `invoice.released`.

use std::path::PathBuf;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::*;

/// Runs `scripts/<script> <args…> FILE` on `bytes`; (passed, output).
fn check(script: &str, args: &[&str], bytes: &[u8], ext: &str) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = std::env::temp_dir().join(format!("psa-einvoice-{}.{ext}", Uuid::now_v7()));
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(root.join("scripts").join(script))
        .args(args)
        .arg(&file)
        .output()
        .expect("the checker runs");
    std::fs::remove_file(&file).ok();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every check a released document's files must pass.
fn assert_valid(kind: &str, xml: &[u8], pdf: &[u8], xrechnung: bool) {
    let (ok, out) = check("einvoice", &["validate"], xml, "xml");
    assert!(ok, "{kind}: the XML fails EN 16931:\n{out}");
    if xrechnung {
        let (ok, out) = check("einvoice", &["xrechnung"], xml, "xml");
        assert!(ok, "{kind}: the XML breaks XRechnung's rules:\n{out}");
    }
    let spec = if xrechnung {
        "xrechnung_3.0"
    } else {
        "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>"
    };
    assert!(
        String::from_utf8_lossy(xml).contains(spec),
        "{kind}: profile"
    );
    let (ok, out) = check("einvoice", &["validate"], pdf, "pdf");
    assert!(ok, "{kind}: the PDF fails:\n{out}");
    let (ok, out) = check("einvoice", &["facturx"], pdf, "pdf");
    assert!(
        ok && out.contains("en16931"),
        "{kind}: factur-x's check fails:\n{out}"
    );
}

impl World {
    async fn release(&self, id: &str) -> Value {
        self.c
            .post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await
            .assert_status(StatusCode::OK)
            .body
    }

    async fn draft(&self, customer: Uuid, lines: Value) -> String {
        let d = self
            .c
            .create(
                "/v1/invoices",
                json!({"customer_id": customer, "lines": lines}),
            )
            .await;
        d["id"].as_str().unwrap().to_owned()
    }

    /// Downloads every document's XML and PDF and checks them all, the
    /// checkers running side by side.
    async fn assert_all_valid(&self, docs: Vec<(&'static str, Value)>) {
        let mut checks = vec![];
        for (kind, doc) in docs {
            let id = doc["id"].as_str().unwrap();
            let xml = self.file(id, "xrechnung.xml").await;
            let pdf = self.file(id, "invoice.pdf").await;
            let xrechnung = doc["buyer"]["leitweg_id"].is_string();
            checks.push(std::thread::spawn(move || {
                assert_valid(kind, &xml, &pdf, xrechnung)
            }));
        }
        for c in checks {
            if let Err(e) = c.join() {
                std::panic::resume_unwind(e);
            }
        }
    }

    async fn file(&self, id: &str, name: &str) -> Vec<u8> {
        let res = self.c.get(&format!("/v1/invoices/{id}/{name}")).await;
        assert_eq!(res.status, StatusCode::OK, "{res}");
        res.bytes
    }
}

fn public_buyer() -> Value {
    json!({"einvoice_format": "xrechnung", "leitweg_id": "991-01234-44",
        "invoice_email": "rechnung@stadt-musterhausen.de", "name": "Stadt Musterhausen"})
}

#[tokio::test]
async fn every_kind_of_document_passes_the_official_checkers() {
    let w = World::new().await;
    w.seller().await;
    let hours = json!({"description": "Support hours", "quantity": "2.5", "unit_code": "HUR", "unit_price": "95.00"});
    let mut docs: Vec<(&str, Value)> = vec![];

    // 19 % only, a ZUGFeRD buyer.
    let domestic = w.customer(json!({"invoice_email": "ap@contoso.de"})).await;
    let id = w.draft(domestic, json!([hours, {"description": "Firewall appliance", "quantity": "1", "unit_price": "1000.00"}])).await;
    let first = w.release(&id).await;
    docs.push(("19 %", first.clone()));

    // 19 % and 7 %, a public buyer (XRechnung with its Leitweg-ID).
    let public = w.customer(public_buyer()).await;
    let id = w.draft(public, json!([hours, {"description": "Fachbuch „Netzwerke“", "quantity": "2", "unit_price": "49.90", "vat_rate": "7.00"}])).await;
    docs.push(("19 % + 7 %", w.release(&id).await));

    // Reverse charge to an EU business.
    let eu = w.customer(json!({"name": "Société Exemple SARL", "vat_treatment": "reverse_charge",
        "vat_id": "FR40303265045", "invoice_email": "compta@exemple.fr",
        "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}})).await;
    let id = w.draft(eu, json!([hours])).await;
    docs.push(("reverse charge", w.release(&id).await));

    // Export outside the EU.
    let ch = w.customer(json!({"name": "Beispiel AG", "vat_treatment": "export", "invoice_email": "kreditoren@beispiel.ch",
        "address": {"line1": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "country": "CH"}})).await;
    let id = w
        .draft(
            ch,
            json!([{"description": "Router", "quantity": "3", "unit_price": "249.00"}]),
        )
        .await;
    docs.push(("export", w.release(&id).await));

    // A credit note for part of the first invoice.
    let line = first["lines"][0]["id"].as_str().unwrap();
    let note = w
        .c
        .create(&format!("/v1/invoices/{}/credit-notes", first["id"].as_str().unwrap()),
            json!({"reason": "One hour was not worked", "lines": [{"line_id": line, "quantity": "1"}]}))
        .await;
    docs.push(("credit note", w.release(note["id"].as_str().unwrap()).await));

    // A prorated fee and overage, from an invoice run, for a public buyer.
    let town = w.customer(public_buyer()).await;
    w.contract(
        town,
        json!({"start_date": "2026-10-16", "included_hours": "2.00"}),
    )
    .await;
    let ticket = w.ticket(town).await;
    let a = w.log(ticket, "2026-10-20", 180, true).await;
    w.approve(&[a]).await;
    let run = w.run("2026-10-01", "2026-10-31").await;
    let drafts = w.drafts_of(&run).await;
    assert_eq!(drafts.len(), 1, "{run}");
    let kinds: Vec<&str> = lines_of(&drafts[0])
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"fee") && kinds.contains(&"overage"),
        "{kinds:?}"
    );
    docs.push((
        "prorated fee and overage",
        w.release(drafts[0]["id"].as_str().unwrap()).await,
    ));

    w.assert_all_valid(docs).await;
}

#[tokio::test]
async fn the_checker_bites_when_a_line_amount_is_changed() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    let id = w.draft(customer, json!([{"description": "Support", "quantity": "2", "unit_code": "HUR", "unit_price": "95.00"}])).await;
    w.release(&id).await;
    let xml = String::from_utf8(w.file(&id, "xrechnung.xml").await).unwrap();
    let (ok, out) = check("einvoice", &["validate"], xml.as_bytes(), "xml");
    assert!(ok, "{out}");
    let tampered = xml.replacen(
        "<ram:LineTotalAmount>190.00</ram:LineTotalAmount>",
        "<ram:LineTotalAmount>191.00</ram:LineTotalAmount>",
        1,
    );
    assert_ne!(tampered, xml, "the line amount is in the XML");
    let (ok, out) = check("einvoice", &["validate"], tampered.as_bytes(), "xml");
    assert!(!ok, "a changed line amount must fail:\n{out}");
    assert!(
        out.contains("BR-CO-10"),
        "the sum of line amounts no longer matches: {out}"
    );
}

#[tokio::test]
async fn every_download_is_the_bytes_kept_at_release_with_the_event_s_hash() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({"name": "Müller & Söhne GmbH"})).await;
    let id = w.draft(customer, json!([{"description": "Support", "quantity": "1", "unit_code": "HUR", "unit_price": "95.00"}])).await;
    // A draft has no e-invoice yet.
    w.c.get(&format!("/v1/invoices/{id}/invoice.pdf"))
        .await
        .assert_problem(StatusCode::CONFLICT, "invoice_not_released");
    let doc = w.release(&id).await;
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{doc}");
    let event: Value = sqlx::query_scalar(
        "select payload from billing.outbox where type = 'invoice.released' and subject = $1",
    )
    .bind(&id)
    .fetch_one(&w.app.db.admin)
    .await
    .unwrap();
    let data = if event.get("data").is_some() {
        &event["data"]
    } else {
        &event
    };
    for (name, kind, media) in [
        ("xrechnung.xml", "xml", "application/xml"),
        ("invoice.pdf", "pdf", "application/pdf"),
    ] {
        let first = w.c.get(&format!("/v1/invoices/{id}/{name}")).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.content_type(), Some(media));
        let again = w.c.get(&format!("/v1/invoices/{id}/{name}")).await;
        assert_eq!(
            first.bytes, again.bytes,
            "{name}: the same bytes every time"
        );
        let by_accept =
            w.c.send(
                w.c.request(reqwest::Method::GET, &format!("/v1/invoices/{id}"))
                    .header("accept", media),
            )
            .await;
        assert_eq!(by_accept.bytes, first.bytes, "{name} by Accept");
        let sha = data_encoding::HEXLOWER.encode(&Sha256::digest(&first.bytes));
        assert_eq!(first.header("etag"), Some(format!("\"{sha}\"").as_str()));
        let in_event = data["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind)
            .unwrap();
        assert_eq!(
            in_event["sha256"], sha,
            "{name}: invoice.released names its hash"
        );
        let unchanged =
            w.c.send(
                w.c.request(reqwest::Method::GET, &format!("/v1/invoices/{id}/{name}"))
                    .header("if-none-match", format!("\"{sha}\"")),
            )
            .await;
        assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    }
    // Another tenant's document is not found, file by file.
    let (_, other) = w.app.new_tenant(PERMS);
    for name in ["xrechnung.xml", "invoice.pdf", "document"] {
        other
            .get(&format!("/v1/invoices/{id}/{name}"))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    other
        .send(
            other
                .request(reqwest::Method::GET, &format!("/v1/invoices/{id}"))
                .header("accept", "application/pdf"),
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // The buyer's format picks the default file: a PDF for ZUGFeRD.
    let default = w.c.get(&format!("/v1/invoices/{id}/document")).await;
    assert_eq!(default.content_type(), Some("application/pdf"));
    // The PDF renders, and its first page reads.
    let (ok, text) = check(
        "einvoice",
        &["pdftext"],
        &w.file(&id, "invoice.pdf").await,
        "pdf",
    );
    assert!(ok, "{text}");
    let number = doc["number"].as_str().unwrap();
    assert!(text.contains(number), "the number on page 1:\n{text}");
    assert!(
        text.contains("Müller & Söhne GmbH"),
        "the buyer on page 1:\n{text}"
    );
    assert!(
        text.contains("113,05 €") && text.contains("EUR 113.05"),
        "the total on page 1:\n{text}"
    );
    // Nothing else is acceptable.
    w.c.send(
        w.c.request(reqwest::Method::GET, &format!("/v1/invoices/{id}"))
            .header("accept", "text/html"),
    )
    .await
    .assert_problem(StatusCode::NOT_ACCEPTABLE, "not_acceptable");
    // The files are final, even to the module's own role.
    let pool = w.app.db.module_pool(&psa_billing::module()).unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("select set_config('app.tenant_id', $1, true)")
        .bind(w.tenant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let changed =
        sqlx::query("update billing.documents set content = 'x' where invoice_id = $1::uuid")
            .bind(&id)
            .execute(&mut *tx)
            .await;
    assert!(changed.is_err(), "a kept file cannot change");
}

#[tokio::test]
async fn an_xrechnung_buyer_without_leitweg_id_is_refused_at_release_and_uses_no_number() {
    let w = World::new().await;
    w.seller().await;
    let buyer = w
        .customer(json!({"einvoice_format": "xrechnung", "invoice_email": "a@b.de"}))
        .await;
    let id = w
        .draft(
            buyer,
            json!([{"description": "Support", "quantity": "1", "unit_price": "95.00"}]),
        )
        .await;
    let res =
        w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
            .await;
    let res = res.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "release_invalid");
    assert_eq!(res.error_fields(), vec!["buyer.leitweg_id"], "{res}");
    assert_eq!(w.doc(&id).await["status"], "draft");
    let other = w.customer(json!({})).await;
    let next = w
        .draft(
            other,
            json!([{"description": "Support", "quantity": "1", "unit_price": "95.00"}]),
        )
        .await;
    let released = w.release(&next).await;
    assert!(
        released["number"].as_str().unwrap().ends_with("-00001"),
        "no number was used: {released}"
    );
}

#[tokio::test]
async fn a_release_whose_process_ended_before_its_files_gets_them_from_the_worker() {
    let w = World::new().await;
    w.seller().await;
    let customer = w.customer(json!({})).await;
    let id = w
        .draft(
            customer,
            json!([{"description": "Support", "quantity": "1", "unit_price": "95.00"}]),
        )
        .await;
    w.release(&id).await;
    // As if the process had ended between the release and its aftermath:
    // no files, no event, the render still pending (triggers off for this).
    let mut admin = w.app.db.admin.acquire().await.unwrap();
    for sql in [
        "set session_replication_role = replica",
        "delete from billing.documents where invoice_id = $1::uuid",
        "delete from billing.outbox where subject = $1 and type = 'invoice.released'",
        "insert into billing.pending_renders (tenant_id, invoice_id, released_at)
           select tenant_id, id, now() - interval '1 hour' from billing.invoices where id = $1::uuid",
        "reset session_replication_role",
    ] {
        let q = sqlx::query(sql);
        let q = if sql.contains("$1") { q.bind(&id) } else { q };
        q.execute(&mut *admin).await.unwrap();
    }
    assert_eq!(w.doc(&id).await["files"], json!([]));
    let pool = w.app.db.module_pool(&psa_billing::module()).unwrap();
    let store = psa_kernel::Store::new(pool, psa_billing::DB.schema);
    assert_eq!(
        psa_billing::workers::finish_releases_once(&store)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        psa_billing::workers::finish_releases_once(&store)
            .await
            .unwrap(),
        0,
        "once"
    );
    let doc = w.doc(&id).await;
    assert_eq!(doc["files"].as_array().unwrap().len(), 2, "{doc}");
    let events: i64 = sqlx::query_scalar(
        "select count(*) from billing.outbox where subject = $1 and type = 'invoice.released'",
    )
    .bind(&id)
    .fetch_one(&mut *admin)
    .await
    .unwrap();
    assert_eq!(events, 1, "the event names the files, once");
}

#[tokio::test]
async fn the_other_vat_categories_pass_the_checkers_too() {
    let w = World::new().await;
    w.c.patch(
        "/v1/billing/settings",
        json!({"tax_number": "143/123/45678"}),
    )
    .await
    .assert_status(StatusCode::OK);
    w.seller().await;
    let mut docs = vec![];
    // Hardware to an Austrian business (K), for a public buyer: XRechnung.
    let at = w.customer(json!({"name": "Beispiel GmbH", "vat_treatment": "intra_eu_supply", "vat_id": "ATU12345678",
        "einvoice_format": "xrechnung", "leitweg_id": "991-01234-44", "invoice_email": "office@beispiel.at",
        "address": {"line1": "Ring 1", "postal_code": "1010", "city": "Wien", "country": "AT"}})).await;
    let id = w
        .draft(
            at,
            json!([{"description": "Switch", "quantity": "2", "unit_price": "300.00"}]),
        )
        .await;
    docs.push(("intra-EU supply", w.release(&id).await));
    // Services to a US business (O): no VAT ids on the document.
    let us = w.customer(json!({"name": "Example Inc.", "vat_treatment": "outside_scope", "invoice_email": "ap@example.com",
        "address": {"line1": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US"}})).await;
    let id = w.draft(us, json!([{"description": "Consulting", "quantity": "3", "unit_code": "HUR", "unit_price": "150.00"}])).await;
    docs.push(("outside the scope of VAT", w.release(&id).await));
    // An exempt line (E) beside a standard one.
    let de = w.customer(json!({"invoice_email": "ap@contoso.de"})).await;
    let id = w.draft(de, json!([
        {"description": "Schulung (steuerfrei)", "quantity": "1", "unit_price": "500.00", "vat_category": "E",
         "exemption_reason": "Steuerfrei nach § 4 Nr. 21 UStG"},
        {"description": "Support", "quantity": "1", "unit_code": "HUR", "unit_price": "95.00"}])).await;
    docs.push(("exempt", w.release(&id).await));
    w.assert_all_valid(docs).await;
}
