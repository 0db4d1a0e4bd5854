//! The documents a released invoice or credit note is: the CII XML
//! (XRechnung 3.0 or EN 16931), the ZUGFeRD / Factur-X PDF/A-3 with that
//! XML inside, and the DATEV export of a period's documents.
//!
//! XML and PDF are rendered once, in the releasing transaction, from the
//! frozen data, and kept with their SHA-256 ([`render`]); downloads return
//! the kept bytes.

pub mod cii;
pub mod datev;
pub mod pdf;
#[cfg(test)]
pub mod sample;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::invoice::InvoiceDocument;

/// A released document's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum FileKind {
    /// The CII XML (`application/xml`).
    Xml,
    /// The ZUGFeRD / Factur-X PDF/A-3 (`application/pdf`).
    Pdf,
}

impl FileKind {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Xml => "application/xml",
            Self::Pdf => "application/pdf",
        }
    }

    /// The path under the document that serves the file.
    pub fn path(self) -> &'static str {
        match self {
            Self::Xml => "xrechnung.xml",
            Self::Pdf => "invoice.pdf",
        }
    }
}

/// What the document says of a file it has (not its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct DocumentFile {
    pub kind: FileKind,
    /// The XML's specification: `xrechnung` (XRechnung 3.0) or `en16931`
    /// (the Factur-X / ZUGFeRD profile EN 16931, also inside the PDF).
    pub profile: String,
    pub media_type: String,
    pub file_name: String,
    /// SHA-256 of the bytes every download returns, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    pub size: i32,
}

/// A file to keep.
pub struct Rendered {
    pub kind: FileKind,
    pub profile: &'static str,
    pub file_name: String,
    pub content: Vec<u8>,
    pub sha256: String,
}

impl Rendered {
    fn new(kind: FileKind, profile: &'static str, number: &str, content: Vec<u8>) -> Self {
        let ext = match kind {
            FileKind::Xml => "xml",
            FileKind::Pdf => "pdf",
        };
        Self {
            kind,
            profile,
            file_name: format!("{}.{ext}", file_stem(number)),
            sha256: data_encoding::HEXLOWER.encode(&Sha256::digest(&content)),
            content,
        }
    }
}

/// The released document's files: its XML in the buyer's profile and the
/// ZUGFeRD PDF with the EN 16931 XML inside.
pub fn render(
    doc: &InvoiceDocument,
    released_at: DateTime<Utc>,
) -> Result<Vec<Rendered>, pdf::PdfError> {
    let number = doc.invoice.number.as_deref().unwrap_or_default();
    let profile = cii::Profile::for_buyer(&doc.invoice.buyer.0);
    let xml = cii::write(doc, profile);
    let embedded = match profile {
        cii::Profile::En16931 => xml.clone(),
        cii::Profile::Xrechnung => cii::write(doc, cii::Profile::En16931),
    };
    let pdf = pdf::render(doc, &embedded, released_at)?;
    Ok(vec![
        Rendered::new(FileKind::Xml, profile.name(), number, xml),
        Rendered::new(FileKind::Pdf, cii::Profile::En16931.name(), number, pdf),
    ])
}

/// A number as a file name: what is not a letter, digit, `-`, `_` or `.`
/// becomes `_`.
fn file_stem(number: &str) -> String {
    number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The API path of a document's file.
pub fn href(invoice: Uuid, kind: FileKind) -> String {
    format!("/v1/invoices/{invoice}/{}", kind.path())
}
