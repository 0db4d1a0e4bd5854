//! The ZUGFeRD 2.3 / Factur-X 1.07 PDF: a PDF/A-3u that a person reads,
//! with the document's CII XML (profile EN 16931) embedded as
//! `factur-x.xml` (`text/xml`, `/AFRelationship /Alternative`, in the
//! catalog's `/AF`), and the Factur-X properties in its XMP.
//!
//! krilla lays out and writes the PDF/A-3 (its validator refuses what the
//! standard forbids); the XMP is patched afterwards ([`xmp`]) because krilla
//! cannot write custom XMP yet. The font is DejaVu Sans from the `dejavu`
//! crate, embedded as a subset. Everything derives from the document and
//! `created` (no clock, no randomness): same inputs, same bytes.

mod content;
mod format;
mod layout;
#[cfg(test)]
mod tests;
mod xmp;

use chrono::{DateTime, Datelike, Timelike, Utc};
use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

use crate::domain::invoice::InvoiceDocument;
use layout::{Fonts, Op, PAGE_H, PAGE_W};

pub use xmp::FX_NS;

/// The attachment's name and the XMP's level: Factur-X profile EN 16931.
const FACTUR_X: xmp::FacturX = xmp::FacturX {
    file_name: "factur-x.xml",
    conformance_level: "EN 16931",
};

/// What the XMP and the Info dictionary name as the creating program.
const CREATOR: &str = "PSA billing";

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// Only released documents have a number and a frozen seller.
    #[error("the document is not released: it has no {0}")]
    NotReleased(&'static str),
    #[error("the XML to embed is not a Cross Industry Invoice")]
    NotCii,
    #[error("the font cannot be read")]
    Font,
    #[error("PDF configuration: {0}")]
    Config(String),
    /// krilla refused the document (e.g. its PDF/A-3 validation failed).
    #[error("rendering the PDF: {0}")]
    Render(String),
    #[error("the embedded file was refused")]
    Embed,
    #[error("reading the PDF back for the XMP: {0}")]
    Patch(#[from] lopdf::Error),
    #[error("writing the PDF with the XMP: {0}")]
    Write(#[from] std::io::Error),
    #[error("the XMP metadata: {0}")]
    Xmp(&'static str),
}

/// The PDF/A-3 of a released invoice or credit note with `xml`, its CII
/// (Factur-X profile EN 16931), inside; `created` is the release time and
/// becomes the creation and modification date of the PDF and the file.
pub fn render(
    doc: &InvoiceDocument,
    xml: &[u8],
    created: DateTime<Utc>,
) -> Result<Vec<u8>, PdfError> {
    let inv = &doc.invoice;
    let number = inv
        .number
        .as_deref()
        .ok_or(PdfError::NotReleased("number"))?;
    let seller = &inv
        .seller
        .as_ref()
        .ok_or(PdfError::NotReleased("seller"))?
        .0;
    if !is_cii(xml) {
        return Err(PdfError::NotCii);
    }

    let (regular, bold) = (dejavu::sans::regular(), dejavu::sans::bold());
    let fonts = Fonts::new(regular, bold).ok_or(PdfError::Font)?;
    let pages = content::pages(doc, seller, number, &fonts);

    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_U)
        .finish()
        .map_err(|e| PdfError::Config(format!("{e:?}")))?;
    let mut pdf = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    let regular = Font::new(regular.into(), 0).ok_or(PdfError::Font)?;
    let bold = Font::new(bold.into(), 0).ok_or(PdfError::Font)?;
    for ops in &pages {
        draw_page(&mut pdf, ops, &regular, &bold)?;
    }

    let date = pdf_date(created);
    let title = format!("{} {number}", content::title(inv.invoice_type));
    pdf.set_metadata(
        Metadata::new()
            .title(title.clone())
            .description(format!(
                "{title}, {} (ZUGFeRD / Factur-X EN 16931)",
                inv.buyer.0.name
            ))
            .authors(vec![seller.legal_name.clone()])
            .creator(CREATOR.to_owned())
            .producer(CREATOR.to_owned())
            .language("de-DE".to_owned())
            .creation_date(date)
            .document_id(format!("{}/{number}", seller.legal_name)),
    );
    pdf.embed_file(EmbeddedFile {
        path: FACTUR_X.file_name.to_owned(),
        mime_type: Some(MimeType::new("text/xml").ok_or(PdfError::Embed)?),
        description: Some(format!("Factur-X / ZUGFeRD {title} (EN 16931)")),
        association_kind: AssociationKind::Alternative,
        data: xml.to_vec().into(),
        modification_date: Some(date),
        compress: Some(true),
        location: None,
    })
    .ok_or(PdfError::Embed)?;
    let bytes = pdf.finish().map_err(render_error)?;
    xmp::patch(&bytes, FACTUR_X)
}

/// Whether `xml` is a Cross Industry Invoice (by its root's namespace).
fn is_cii(xml: &[u8]) -> bool {
    const NS: &[u8] = b"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
    xml.windows(NS.len()).any(|w| w == NS)
}

fn render_error(e: KrillaError) -> PdfError {
    match e {
        KrillaError::Validation(errors) => {
            let errors: Vec<_> = errors.iter().map(|(e, _)| format!("{e:?}")).collect();
            PdfError::Render(format!("PDF/A-3u validation failed: {}", errors.join("; ")))
        }
        e => PdfError::Render(e.to_string()),
    }
}

/// A UTC time as krilla's date, to the second.
fn pdf_date(t: DateTime<Utc>) -> krilla::metadata::DateTime {
    krilla::metadata::DateTime::new(u16::try_from(t.year()).unwrap_or(9999))
        .month(t.month() as u8)
        .day(t.day() as u8)
        .hour(t.hour() as u8)
        .minute(t.minute() as u8)
        .second(t.second().min(59) as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn color(gray: bool) -> rgb::Color {
    if gray {
        rgb::Color::new(96, 96, 96)
    } else {
        rgb::Color::new(0, 0, 0)
    }
}

fn draw_page(pdf: &mut Document, ops: &[Op], regular: &Font, bold: &Font) -> Result<(), PdfError> {
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PdfError::Config("page size".into()))?;
    let mut page = pdf.start_page_with(settings);
    let mut surface = page.surface();
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold: is_bold,
                gray,
                text,
            } => {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: color(*gray).into(),
                    ..Fill::default()
                }));
                let font = if *is_bold { bold } else { regular };
                surface.draw_text(
                    Point::from_xy(*x, *y),
                    font.clone(),
                    *size,
                    text,
                    false,
                    TextDirection::Auto,
                );
            }
            Op::Rule { x1, x2, y, width } => {
                let mut pb = PathBuilder::new();
                pb.move_to(*x1, *y);
                pb.line_to(*x2, *y);
                if let Some(path) = pb.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        paint: color(true).into(),
                        width: *width,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
            }
            Op::Shade { x, y, w, h } => {
                let mut pb = PathBuilder::new();
                if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                    pb.push_rect(rect);
                }
                if let Some(path) = pb.finish() {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill {
                        paint: rgb::Color::new(236, 236, 236).into(),
                        ..Fill::default()
                    }));
                    surface.draw_path(&path);
                }
            }
        }
    }
    surface.finish();
    page.finish();
    Ok(())
}
