//! What can be checked in Rust: the PDF parses, carries the XML as a
//! PDF/A-3 associated file, its XMP has pdfaid and the Factur-X schema,
//! rendering is reproducible, long documents flow onto further pages.
//! The official checkers (einvoice-validate, factur-x, poppler) run in the
//! integration tests. `PSA_PDF_OUT=dir` keeps the rendered samples there.

use chrono::{DateTime, TimeZone, Utc};
use lopdf::{Dictionary, Document, Object};

use super::layout::{Fonts, Op};
use super::*;
use crate::documents::cii::{self, Profile};
use crate::documents::sample::{self, d, date};
use crate::domain::invoice::{InvoiceDocument, InvoiceLine, InvoiceType, UnitCode};
use crate::domain::money::{VatCategory, VatGroup};

/// The EN 16931 XML of the sample, as release embeds it.
fn xml() -> Vec<u8> {
    cii::write(&sample(), Profile::En16931)
}

fn released() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 16, 5, 9).unwrap()
}

fn line(
    position: i32,
    description: &str,
    qty: &str,
    unit: UnitCode,
    price: &str,
    net: &str,
) -> InvoiceLine {
    sample::line(
        position,
        (description, qty, unit, price, net),
        (VatCategory::S, "19.00"),
    )
}

/// A March invoice of two 19 % lines to a bakery, with notes.
fn sample() -> InvoiceDocument {
    let mut doc = sample::released(
        "RE-2026-0042",
        InvoiceType::Invoice,
        vec![
            line(
                1,
                "Managed Services „Business“, März 2026",
                "1",
                UnitCode::MON,
                "1000.00",
                "1000.00",
            ),
            line(2, "Remote-Support", "2.5", UnitCode::HUR, "95.00", "237.50"),
        ],
    );
    let inv = &mut doc.invoice;
    inv.buyer.0.name = "Bäckerei Schäfer KG".into();
    inv.seller.as_mut().unwrap().0.legal_name = "Müller IT-Service GmbH".into();
    inv.notes = Some(
        "Vielen Dank für Ihren Auftrag! Grüße aus München.\nThank you for your business.".into(),
    );
    (inv.issue_date, inv.due_date) = (Some(date("2026-03-31")), Some(date("2026-04-14")));
    (inv.period_from, inv.period_to) = (Some(date("2026-03-01")), Some(date("2026-03-31")));
    (inv.released_at, inv.created_at, inv.updated_at) = (Some(released()), released(), released());
    doc.open_amount = Some(d("1472.63"));
    doc
}

/// 120 lines with long descriptions (the totals need not add up here).
fn long_sample() -> InvoiceDocument {
    let mut doc = sample();
    doc.lines = (1..=120)
        .map(|i| {
            let mut desc = format!("Ticket #{i}: Arbeitsplatz eingerichtet, Drucker geprüft und Übergabe dokumentiert");
            if i % 7 == 0 {
                desc.push_str(&" – sehr lange Beschreibung mit Überlänge".repeat(12));
            }
            if i % 11 == 0 {
                desc.push_str(" Konfigurationsdatei-Pfad-ohne-Leerzeichen-C:/Programme/Äußerst/Lange/Ordnerstruktur/Datei.cfg");
            }
            line(i, &desc, "0.25", UnitCode::HUR, "95.00", "23.75")
        })
        .collect();
    doc
}

fn write_out(name: &str, pdf: &[u8]) {
    if let Ok(dir) = std::env::var("PSA_PDF_OUT") {
        std::fs::write(std::path::Path::new(&dir).join(name), pdf).unwrap();
    }
}

fn resolve<'a>(pdf: &'a Document, o: &'a Object) -> &'a Object {
    match o {
        Object::Reference(id) => pdf.get_object(*id).unwrap(),
        o => o,
    }
}

fn xmp_of(pdf: &Document) -> (Dictionary, String) {
    let id = pdf
        .catalog()
        .unwrap()
        .get(b"Metadata")
        .unwrap()
        .as_reference()
        .unwrap();
    let s = pdf.get_object(id).unwrap().as_stream().unwrap();
    (
        s.dict.clone(),
        String::from_utf8(s.content.clone()).unwrap(),
    )
}

fn texts(pages: &[Vec<Op>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn layout_of(doc: &InvoiceDocument) -> Vec<Vec<Op>> {
    let fonts = Fonts::new(dejavu::sans::regular(), dejavu::sans::bold()).unwrap();
    let inv = &doc.invoice;
    content::pages(
        doc,
        &inv.seller.as_ref().unwrap().0,
        inv.number.as_deref().unwrap(),
        &fonts,
    )
}

#[test]
fn the_xml_is_an_associated_file_of_the_pdf() {
    let bytes = render(&sample(), &xml(), released()).unwrap();
    write_out("invoice.pdf", &bytes);
    assert!(bytes.starts_with(b"%PDF-1."));
    let pdf = Document::load_mem(&bytes).unwrap();

    let af = resolve(&pdf, pdf.catalog().unwrap().get(b"AF").unwrap())
        .as_array()
        .unwrap();
    assert_eq!(af.len(), 1);
    let spec = resolve(&pdf, &af[0]).as_dict().unwrap();
    assert_eq!(spec.get(b"F").unwrap().as_str().unwrap(), b"factur-x.xml");
    assert_eq!(spec.get(b"UF").unwrap().as_str().unwrap(), b"factur-x.xml");
    assert_eq!(
        spec.get(b"AFRelationship").unwrap().as_name().unwrap(),
        b"Alternative"
    );
    assert!(spec.get(b"Desc").is_ok());
    let ef = resolve(&pdf, spec.get(b"EF").unwrap()).as_dict().unwrap();
    let file = resolve(&pdf, ef.get(b"F").unwrap()).as_stream().unwrap();
    assert_eq!(
        file.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"text/xml"
    );
    let params = resolve(&pdf, file.dict.get(b"Params").unwrap())
        .as_dict()
        .unwrap();
    assert!(params.get(b"ModDate").is_ok());
    assert_eq!(file.decompressed_content().unwrap(), xml());

    // Also in the name tree, where readers list attachments.
    let names = resolve(&pdf, pdf.catalog().unwrap().get(b"Names").unwrap())
        .as_dict()
        .unwrap();
    assert!(names.get(b"EmbeddedFiles").is_ok());
    // The font is embedded.
    assert!(
        pdf.objects
            .values()
            .any(|o| o.as_dict().is_ok_and(|d| d.has(b"FontFile2")))
    );
    assert_eq!(pdf.get_pages().len(), 1);
}

#[test]
fn the_xmp_is_pdf_a3_with_the_factur_x_schema() {
    let bytes = render(&sample(), &xml(), released()).unwrap();
    let pdf = Document::load_mem(&bytes).unwrap();
    let (dict, xmp) = xmp_of(&pdf);
    assert_eq!(dict.get(b"Type").unwrap().as_name().unwrap(), b"Metadata");
    assert_eq!(dict.get(b"Subtype").unwrap().as_name().unwrap(), b"XML");
    assert!(!dict.has(b"Filter"), "the XMP stays uncompressed");

    for expected in [
        "<pdfaid:part>3</pdfaid:part>",
        "<pdfaid:conformance>U</pdfaid:conformance>",
        "xmlns:fx=\"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#\"",
        "<fx:DocumentType>INVOICE</fx:DocumentType>",
        "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
        "<fx:Version>1.0</fx:Version>",
        "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
        "<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>",
        "<pdfaSchema:prefix>fx</pdfaSchema:prefix>",
        "<pdfaProperty:name>ConformanceLevel</pdfaProperty:name>",
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>",
        "<pdfaProperty:category>external</pdfaProperty:category>",
        "2026-03-31T16:05:09",
        "Rechnung / Invoice RE-2026-0042",
    ] {
        assert!(xmp.contains(expected), "XMP lacks {expected}:\n{xmp}");
    }
    assert_eq!(xmp.matches("<pdfaExtension:schemas>").count(), 1);
    let bag =
        xmp.find("<pdfaExtension:schemas>").unwrap()..xmp.find("</pdfaExtension:schemas>").unwrap();
    assert!(bag.contains(&xmp.find("Factur-X PDFA Extension Schema").unwrap()));
    assert!(xmp.starts_with("<?xpacket begin="));
    assert!(xmp.ends_with("<?xpacket end=\"r\"?>") || xmp.ends_with("<?xpacket end=\"w\"?>"));

    // Well-formed XML.
    let mut reader = quick_xml::Reader::from_str(&xmp);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("XMP is not well-formed: {e}"),
        }
    }

    // The Info dictionary says what the XMP says.
    let info_id = pdf.trailer.get(b"Info").unwrap().as_reference().unwrap();
    let info = pdf.get_object(info_id).unwrap().as_dict().unwrap();
    let created = info.get(b"CreationDate").unwrap().as_str().unwrap();
    assert!(
        created.starts_with(b"D:20260331160509"),
        "{}",
        String::from_utf8_lossy(created)
    );
    assert_eq!(info.get(b"ModDate").unwrap().as_str().unwrap(), created);
    assert!(pdf.trailer.get(b"ID").is_ok());
}

#[test]
fn same_input_same_bytes() {
    let doc = sample();
    let a = render(&doc, &xml(), released()).unwrap();
    let b = render(&doc, &xml(), released()).unwrap();
    assert!(a == b, "two renderings differ");
    let later = render(&doc, &xml(), released() + chrono::Duration::seconds(1)).unwrap();
    assert!(a != later, "the creation date is in the PDF");
}

#[test]
fn many_lines_flow_onto_further_pages() {
    let doc = long_sample();
    let bytes = render(&doc, &xml(), released()).unwrap();
    write_out("invoice-120-lines.pdf", &bytes);
    let pdf = Document::load_mem(&bytes).unwrap();
    let layout = layout_of(&doc);
    assert!(layout.len() >= 4, "120 lines on {} pages", layout.len());
    assert_eq!(pdf.get_pages().len(), layout.len());

    let t = texts(&layout);
    for i in 1..=120 {
        assert!(t.contains(&i.to_string()), "line {i} is missing");
    }
    // The table head repeats on every page with lines; every page has its count.
    let heads = t
        .iter()
        .filter(|s| *s == "Beschreibung / Description")
        .count();
    assert!(heads >= layout.len() - 1, "{heads} table heads");
    let n = layout.len();
    assert!(t.contains(&format!("Seite / Page {n} / {n}")));
    // Long descriptions are cut with an ellipsis; nothing is drawn below the
    // content area except the footer.
    assert!(t.iter().any(|s| s.ends_with('…')));
    for page in &layout {
        for op in page {
            if let Op::Text { y, .. } = op {
                assert!(*y <= layout::PAGE_H - 30.0 && *y > 0.0);
            }
        }
    }
}

#[test]
fn the_page_says_what_a_reader_needs() {
    let doc = sample();
    let t = texts(&layout_of(&doc)).join("\n");
    for expected in [
        "Müller IT-Service GmbH",
        "USt-IdNr. / VAT ID: DE123456789",
        "Steuernr. / Tax no.: 143/123/45678",
        "Bäckerei Schäfer KG",
        "10115 Berlin",
        "Rechnung / Invoice RE-2026-0042",
        "31.03.2026",
        "14.04.2026",
        "01.03.2026 – 31.03.2026",
        "C-000001",
        "Managed Services „Business“, März 2026",
        "2,5 Std.",
        "95,00",
        "19 %",
        "237,50",
        "1.237,50",
        "S – Steuerpflichtig / Standard rate",
        "235,13",
        "1.472,63 €",
        "1.472,63 € (EUR 1472.63)",
        "Zahlbetrag / Amount due",
        "DE02 1203 0000 0000 2020 51",
        "BYLADEM1001",
        "Deutsche Kreditbank",
        "Vielen Dank für Ihren Auftrag! Grüße aus München.",
        "Thank you for your business.",
    ] {
        assert!(t.contains(expected), "the page lacks {expected:?}:\n{t}");
    }
    assert!(!t.contains('?'), "a character without a glyph:\n{t}");
}

#[test]
fn a_credit_note_names_the_invoice_it_corrects() {
    let mut doc = sample();
    let inv = &mut doc.invoice;
    inv.invoice_type = InvoiceType::CreditNote;
    inv.number = Some("GS-2026-0003".into());
    inv.preceding_invoice_id = Some(uuid::Uuid::from_u128(41));
    inv.preceding_number = Some("RE-2026-0042".into());
    inv.preceding_issue_date = Some(date("2026-03-31"));
    doc.lines[0].vat_category = VatCategory::AE;
    doc.vat_breakdown.push(VatGroup {
        category: VatCategory::AE,
        rate: d("0.00"),
        base: d("0.00"),
        tax: d("0.00"),
        exemption_reason: Some(
            "Reverse charge - Steuerschuldnerschaft des Leistungsempfängers".into(),
        ),
    });
    let bytes = render(&doc, &xml(), released()).unwrap();
    write_out("credit-note.pdf", &bytes);
    let t = texts(&layout_of(&doc)).join(" ");
    for expected in [
        "Gutschrift / Credit note GS-2026-0003",
        "This credit note corrects invoice RE-2026-0042 of 31.03.2026.",
        "Zu Rechnung / Corrects invoice",
        "Gutschriftsbetrag / Amount credited",
        "Reverse charge - Steuerschuldnerschaft des Leistungsempfängers",
        "AE",
    ] {
        assert!(t.contains(expected), "the page lacks {expected:?}:\n{t}");
    }
}

#[test]
fn drafts_and_other_xml_are_refused() {
    let mut draft = sample();
    draft.invoice.number = None;
    assert!(matches!(
        render(&draft, &xml(), released()),
        Err(PdfError::NotReleased("number"))
    ));
    let mut no_seller = sample();
    no_seller.invoice.seller = None;
    assert!(matches!(
        render(&no_seller, &xml(), released()),
        Err(PdfError::NotReleased("seller"))
    ));
    assert!(matches!(
        render(&sample(), b"<Invoice/>", released()),
        Err(PdfError::NotCii)
    ));
}

#[test]
fn text_wraps_breaks_and_cleans() {
    let fonts = Fonts::new(dejavu::sans::regular(), dejavu::sans::bold()).unwrap();
    let lines = fonts.wrap("eins zwei drei vier fünf sechs sieben", 10.0, false, 60.0);
    assert!(lines.len() > 2, "{lines:?}");
    assert!(lines.iter().all(|l| fonts.width(l, 10.0, false) <= 60.0));
    let long = fonts.wrap(&"x".repeat(200), 10.0, false, 100.0);
    assert!(long.len() > 3 && long.iter().all(|l| fonts.width(l, 10.0, false) <= 100.0));
    let cut = fonts.wrap_max(&"Wort ".repeat(100), 10.0, false, 100.0, 2);
    assert_eq!(cut.len(), 2);
    assert!(cut[1].ends_with('…') && fonts.width(&cut[1], 10.0, false) <= 100.0);
    assert_eq!(fonts.clean("a\tb\u{7}c€ä\u{4E2D}\u{200B}\u{AD}"), "a bc€ä?");
    assert_eq!(
        fonts.wrap("a\n\n\r\n\nb\n", 10.0, false, 100.0),
        vec!["a", "", "b"]
    );
}

#[test]
fn any_text_renders_as_pdf_a3u() {
    // Whatever people type must not make a release fail: scripts the font
    // lacks, emoji, combining marks, invisible and control characters.
    let mut doc = sample();
    doc.lines[0].description = "Ünïcödé: ÀÉÎÕÜ àéîõü ß ẞ Æ Ø Å œ Ł ő ç ñ · Ελληνικά · Русский · עברית · العربية · 中文 · 日本語 · \
         한국어 · 😀👍🏽👨‍👩‍👧 · e\u{301} a\u{308} · ﬁ ﬂ ffi · \u{200B}\u{200D}\u{AD}\u{FEFF}\u{202E}rtl\u{202C} · \u{E000} · \
         \u{1}\u{7}\u{1B}[0m · \t tab · € £ ¥ ₹ ‰ № ™ © ® ° ± × ÷ ½ ¼ ¾ “quotes” „Anführung“ ‚a‘ «b» ‹c› – — … •"
        .into();
    doc.invoice.notes = Some("Zeile 1\r\nZeile 2\n\n\nZeile 3 mit 🧾".into());
    doc.invoice.buyer.0.name = "Ŝtraße & Søn’s “Ltd.” <b>&amp;</b>".into();
    let bytes = render(&doc, &xml(), released()).unwrap();
    write_out("unicode.pdf", &bytes);
    assert!(Document::load_mem(&bytes).is_ok());
}
