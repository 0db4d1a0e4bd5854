//! The Factur-X XMP: krilla 0.8 writes a PDF/A-3 XMP packet but cannot
//! take custom properties, so the packet is patched afterwards. The
//! Factur-X schema joins krilla's `pdfaExtension:schemas` bag (PDF/A
//! wants every non-standard schema declared there) and the four `fx:`
//! properties come in an `rdf:Description` of their own; everything krilla
//! wrote (pdfaid, dates, ids, title) stays as it is, so the XMP still
//! agrees with the Info dictionary. lopdf swaps the catalog's `/Metadata`
//! stream for the patched, uncompressed packet.

use lopdf::{Dictionary, Document, Object, Stream};

use super::PdfError;

/// The Factur-X XMP namespace (Factur-X 1.0x, ZUGFeRD 2.x).
pub const FX_NS: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";
const PDFA_SCHEMA_NS: &str = "http://www.aiim.org/pdfa/ns/schema#";
const PDFA_PROPERTY_NS: &str = "http://www.aiim.org/pdfa/ns/property#";
const PDFA_EXTENSION_NS: &str = "http://www.aiim.org/pdfa/ns/extension/";

/// What the XMP says of the embedded XML.
#[derive(Debug, Clone, Copy)]
pub struct FacturX {
    /// `factur-x.xml` (or `xrechnung.xml` for the XRECHNUNG profile).
    pub file_name: &'static str,
    /// `EN 16931`, `BASIC`, `XRECHNUNG`, …
    pub conformance_level: &'static str,
}

/// The four properties and how the extension schema describes them.
const PROPERTIES: [(&str, &str); 4] = [
    ("DocumentFileName", "The name of the embedded XML document"),
    (
        "DocumentType",
        "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
    ),
    (
        "Version",
        "The actual version of the standard applying to the embedded XML document",
    ),
    (
        "ConformanceLevel",
        "The conformance level of the embedded XML document",
    ),
];

/// `pdf` with its XMP packet extended by the Factur-X schema and values.
pub fn patch(pdf: &[u8], fx: FacturX) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::load_mem(pdf)?;
    let meta_id = doc.catalog()?.get(b"Metadata")?.as_reference()?;
    let old = doc.get_object(meta_id)?.as_stream()?;
    let raw = if old.dict.has(b"Filter") {
        old.decompressed_content()?
    } else {
        old.content.clone()
    };
    let packet =
        String::from_utf8(raw).map_err(|_| PdfError::Xmp("the XMP packet is not UTF-8"))?;
    let packet = extend(&packet, fx)?;

    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"Metadata".to_vec()));
    dict.set("Subtype", Object::Name(b"XML".to_vec()));
    let stream = Stream::new(dict, packet.into_bytes()).with_compression(false);
    doc.objects.insert(meta_id, Object::Stream(stream));

    let mut out = Vec::with_capacity(pdf.len() + 4096);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// The XMP packet `xmp` with the Factur-X extension schema and properties.
pub fn extend(xmp: &str, fx: FacturX) -> Result<String, PdfError> {
    if xmp.contains(FX_NS) {
        return Err(PdfError::Xmp(
            "the XMP packet already has Factur-X properties",
        ));
    }
    let mut out = xmp.to_owned();

    // The schema description: into krilla's bag when there is one, else a
    // bag of its own.
    let schema = schema_description(xmp);
    let close = "</pdfaExtension:schemas>";
    match out.find(close) {
        Some(end) => {
            let bag_end = out[..end]
                .rfind("</rdf:Bag>")
                .ok_or(PdfError::Xmp("pdfaExtension:schemas without rdf:Bag"))?;
            out.insert_str(bag_end, &schema);
        }
        None => {
            let block = format!(
                "<rdf:Description rdf:about=\"\" xmlns:pdfaExtension=\"{PDFA_EXTENSION_NS}\">\
                 <pdfaExtension:schemas><rdf:Bag>{schema}</rdf:Bag></pdfaExtension:schemas>\
                 </rdf:Description>"
            );
            insert_before_rdf_end(&mut out, &block)?;
        }
    }

    let values = format!(
        "<rdf:Description rdf:about=\"\" xmlns:fx=\"{FX_NS}\">\
         <fx:DocumentType>INVOICE</fx:DocumentType>\
         <fx:DocumentFileName>{}</fx:DocumentFileName>\
         <fx:Version>1.0</fx:Version>\
         <fx:ConformanceLevel>{}</fx:ConformanceLevel>\
         </rdf:Description>",
        fx.file_name, fx.conformance_level
    );
    insert_before_rdf_end(&mut out, &values)?;
    Ok(out)
}

/// The `rdf:li` describing the fx schema; declares the pdfaSchema and
/// pdfaProperty prefixes itself unless the packet does already.
fn schema_description(xmp: &str) -> String {
    let mut ns = String::new();
    for (prefix, uri) in [
        ("pdfaSchema", PDFA_SCHEMA_NS),
        ("pdfaProperty", PDFA_PROPERTY_NS),
    ] {
        if !xmp.contains(&format!("xmlns:{prefix}=\"{uri}\"")) {
            ns.push_str(&format!(" xmlns:{prefix}=\"{uri}\""));
        }
    }
    let mut li = format!(
        "<rdf:li rdf:parseType=\"Resource\"{ns}>\
         <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\
         <pdfaSchema:namespaceURI>{FX_NS}</pdfaSchema:namespaceURI>\
         <pdfaSchema:prefix>fx</pdfaSchema:prefix>\
         <pdfaSchema:property><rdf:Seq>"
    );
    for (name, description) in PROPERTIES {
        li.push_str(&format!(
            "<rdf:li rdf:parseType=\"Resource\">\
             <pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType>\
             <pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{description}</pdfaProperty:description>\
             </rdf:li>"
        ));
    }
    li.push_str("</rdf:Seq></pdfaSchema:property></rdf:li>");
    li
}

fn insert_before_rdf_end(xmp: &mut String, s: &str) -> Result<(), PdfError> {
    let at = xmp
        .rfind("</rdf:RDF>")
        .ok_or(PdfError::Xmp("the XMP packet has no rdf:RDF"))?;
    xmp.insert_str(at, s);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FX: FacturX = FacturX {
        file_name: "factur-x.xml",
        conformance_level: "EN 16931",
    };

    #[test]
    fn joins_an_existing_extension_bag() {
        let xmp = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
                   <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" \
                   xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\">\
                   <pdfaExtension:schemas><rdf:Bag><rdf:li>a</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>\
                   </rdf:RDF></x:xmpmeta><?xpacket end=\"r\"?>";
        let out = extend(xmp, FX).unwrap();
        assert_eq!(out.matches("<pdfaExtension:schemas>").count(), 1);
        let bag =
            &out[out.find("<rdf:Bag>").unwrap()..out.find("</pdfaExtension:schemas>").unwrap()];
        assert!(
            bag.contains(
                "<rdf:li>a</rdf:li><rdf:li rdf:parseType=\"Resource\" xmlns:pdfaProperty="
            )
        );
        assert!(
            !bag.contains("xmlns:pdfaSchema"),
            "declared by the packet already"
        );
        assert!(out.contains(
            "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description></rdf:RDF>"
        ));
        assert!(extend(&out, FX).is_err(), "patched twice");
    }

    #[test]
    fn adds_a_bag_where_there_is_none() {
        let xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
                   <rdf:Description rdf:about=\"\"/></rdf:RDF></x:xmpmeta>";
        let out = extend(xmp, FX).unwrap();
        assert!(out.contains(
            "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\" xmlns:pdfaSchema="
        ));
        assert!(out.contains("<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>"));
        assert!(extend("<x/>", FX).is_err());
    }
}
