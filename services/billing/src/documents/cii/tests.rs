use super::*;
use crate::documents::sample::{self, d, line, released};
use crate::domain::invoice::{InvoiceType, UnitCode};

fn xml(doc: &InvoiceDocument, profile: Profile) -> String {
    String::from_utf8(write(doc, profile)).unwrap()
}

/// The text of the first `<name>…</name>` after `after`.
fn value<'a>(xml: &'a str, after: &str, name: &str) -> &'a str {
    let from = xml.find(after).unwrap_or_else(|| panic!("no {after}"));
    let open = format!("<{name}");
    let start = from
        + xml[from..]
            .find(&open)
            .unwrap_or_else(|| panic!("no {name}"));
    let start = start + xml[start..].find('>').unwrap() + 1;
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

#[test]
fn the_profile_is_in_bt_24_and_follows_the_leitweg_id() {
    let mut doc = sample::two_rates();
    assert_eq!(Profile::for_buyer(&doc.invoice.buyer.0), Profile::En16931);
    let x = xml(&doc, Profile::En16931);
    assert_eq!(
        value(&x, "GuidelineSpecifiedDocumentContextParameter", "ram:ID"),
        "urn:cen.eu:en16931:2017"
    );
    assert!(!x.contains("BuyerReference"), "no placeholder in BT-10");
    doc.invoice.buyer.0.leitweg_id = Some("04011000-1234512345-06".into());
    assert_eq!(Profile::for_buyer(&doc.invoice.buyer.0), Profile::Xrechnung);
    let x = xml(&doc, Profile::Xrechnung);
    assert!(x.contains("#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</ram:ID>"));
    assert_eq!(
        value(
            &x,
            "<ram:ApplicableHeaderTradeAgreement>",
            "ram:BuyerReference"
        ),
        "04011000-1234512345-06"
    );
    assert_eq!(
        value(&x, "BusinessProcessSpecified", "ram:ID"),
        BUSINESS_PROCESS
    );
}

#[test]
fn totals_and_the_breakdown_come_from_the_decimals_with_two_places() {
    let x = xml(&sample::two_rates(), Profile::En16931);
    let sums = "SpecifiedTradeSettlementHeaderMonetarySummation";
    assert_eq!(value(&x, sums, "ram:LineTotalAmount"), "1287.40");
    assert_eq!(value(&x, sums, "ram:TaxBasisTotalAmount"), "1287.40");
    // 19 % of 1237.50 = 235.125 → 235.13; 7 % of 49.90 = 3.493 → 3.49.
    assert_eq!(value(&x, sums, "ram:TaxTotalAmount"), "238.62");
    assert!(x.contains(r#"<ram:TaxTotalAmount currencyID="EUR">238.62</ram:TaxTotalAmount>"#));
    assert_eq!(value(&x, sums, "ram:GrandTotalAmount"), "1526.02");
    assert_eq!(value(&x, sums, "ram:DuePayableAmount"), "1526.02");
    let header_tax: Vec<&str> = x
        .match_indices("<ram:CalculatedAmount>")
        .map(|(i, _)| value(&x[i..], "", "ram:CalculatedAmount"))
        .collect();
    assert_eq!(header_tax, ["3.49", "235.13"]);
    assert!(x.contains(r#"<ram:BilledQuantity unitCode="HUR">2.5</ram:BilledQuantity>"#));
    assert!(x.contains("<ram:RateApplicablePercent>7.00</ram:RateApplicablePercent>"));
    assert!(x.contains("Fachbuch „Netzwerke“"));
    assert!(x.contains("Contoso GmbH &amp; Co. KG"), "escaped");
    // The schema's order: lines, agreement, delivery, settlement.
    let pos = |s: &str| x.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(pos("IncludedSupplyChainTradeLineItem") < pos("ApplicableHeaderTradeAgreement"));
    assert!(pos("ApplicableHeaderTradeAgreement") < pos("ApplicableHeaderTradeDelivery"));
    assert!(pos("ApplicableHeaderTradeDelivery") < pos("ApplicableHeaderTradeSettlement"));
    assert!(pos("<ram:PaymentReference>") < pos("<ram:InvoiceCurrencyCode>"));
    assert!(
        pos("<ram:IBANID>DE02120300000000202051")
            < pos("<ram:ApplicableTradeTax>\n        <ram:CalculatedAmount>")
    );
}

#[test]
fn reverse_charge_names_both_vat_ids_and_the_reason() {
    let mut doc = released(
        "RE-2026-00043",
        InvoiceType::Invoice,
        vec![line(
            1,
            ("Consulting", "4", UnitCode::HUR, "120", "480.00"),
            (VatCategory::AE, "0"),
        )],
    );
    doc.invoice.buyer.0.vat_id = Some("FR40303265045".into());
    let x = xml(&doc, Profile::En16931);
    assert_eq!(
        value(
            &x,
            "<ram:ApplicableHeaderTradeSettlement>",
            "ram:CalculatedAmount"
        ),
        "0.00"
    );
    assert_eq!(
        value(&x, "<ram:CalculatedAmount>", "ram:ExemptionReasonCode"),
        "VATEX-EU-AE"
    );
    assert!(
        value(&x, "<ram:CalculatedAmount>", "ram:ExemptionReason").starts_with("Reverse charge")
    );
    assert!(x.contains(r#"<ram:ID schemeID="VA">FR40303265045</ram:ID>"#));
    assert!(x.contains(r#"<ram:ID schemeID="VA">DE123456789</ram:ID>"#));
}

#[test]
fn outside_the_scope_of_vat_carries_no_vat_id_and_no_rate() {
    let doc = released(
        "RE-2026-00044",
        InvoiceType::Invoice,
        vec![line(
            1,
            ("Consulting", "1", UnitCode::HUR, "100", "100.00"),
            (VatCategory::O, "0"),
        )],
    );
    let x = xml(&doc, Profile::En16931);
    assert!(!x.contains(r#"schemeID="VA""#), "BR-O-02");
    assert!(x.contains(r#"<ram:ID schemeID="FC">143/123/45678</ram:ID>"#));
    assert_eq!(
        value(&x, "<ram:SellerTradeParty>", "ram:ID"),
        "143/123/45678",
        "BT-29 (BR-CO-26)"
    );
    let line = &x[..x.find("<ram:ApplicableHeaderTradeAgreement>").unwrap()];
    assert!(
        !line.contains("RateApplicablePercent"),
        "no line rate (BR-O-05)"
    );
    assert_eq!(
        value(&x, "<ram:CalculatedAmount>", "ram:RateApplicablePercent"),
        "0.00",
        "BR-DE-14"
    );
}

#[test]
fn a_credit_note_is_381_with_its_invoice_and_no_account_to_pay_to() {
    let doc = released(
        "GS-2026-00001",
        InvoiceType::CreditNote,
        vec![line(
            1,
            ("Credit for line 2", "1", UnitCode::HUR, "95.00", "95.00"),
            (VatCategory::S, "19"),
        )],
    );
    let x = xml(&doc, Profile::En16931);
    assert_eq!(value(&x, "<rsm:ExchangedDocument>", "ram:TypeCode"), "381");
    assert_eq!(
        value(&x, "InvoiceReferencedDocument", "ram:IssuerAssignedID"),
        "RE-2026-00001"
    );
    assert_eq!(
        value(&x, "InvoiceReferencedDocument", "qdt:DateTimeString"),
        "20261102"
    );
    assert_eq!(
        value(&x, "SpecifiedTradeSettlementPaymentMeans", "ram:TypeCode"),
        "1"
    );
    assert!(!x.contains("IBANID"));
    assert_eq!(
        value(&x, "HeaderMonetarySummation", "ram:GrandTotalAmount"),
        "113.05",
        "positive"
    );
}

#[test]
fn the_service_period_holds_every_line_period() {
    let mut doc = sample::two_rates();
    doc.lines[0].period_from = Some(sample::date("2026-10-16"));
    doc.lines[0].period_to = Some(sample::date("2026-10-31"));
    let (from, to) = service_period(&doc, sample::date("2026-11-30"));
    assert_eq!(
        (from.to_string(), to.to_string()),
        ("2026-10-16".into(), "2026-11-30".into())
    );
}

#[test]
fn amounts_print_two_places_and_control_characters_are_left_out() {
    assert_eq!(amount(d("5")), "5.00");
    assert_eq!(amount(d("0.125")), "0.13");
    let mut doc = sample::two_rates();
    doc.lines[0].description = "A\u{1}B".into();
    assert!(xml(&doc, Profile::En16931).contains("<ram:Name>AB</ram:Name>"));
}

#[test]
fn an_intra_eu_supply_names_where_the_goods_went() {
    let doc = released(
        "RE-2026-00045",
        InvoiceType::Invoice,
        vec![line(
            1,
            ("Switch", "2", UnitCode::C62, "300", "600.00"),
            (VatCategory::K, "0"),
        )],
    );
    let x = xml(&doc, Profile::En16931);
    assert_eq!(value(&x, "<ram:ShipToTradeParty>", "ram:CountryID"), "DE");
    assert!(
        xml(&sample::two_rates(), Profile::En16931)
            .contains("<ram:ApplicableHeaderTradeDelivery/>")
    );
}
