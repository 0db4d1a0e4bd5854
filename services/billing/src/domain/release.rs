//! What a draft needs before it may be released: the seller's and the
//! buyer's data as EN 16931 and XRechnung ask for them.

use psa_crm::domain::customer::EinvoiceFormat;
use psa_http::FieldError;
use psa_http::validate::FieldErrors;
use rust_decimal::Decimal;

use super::invoice::{Buyer, Invoice, InvoiceLine, InvoiceType, Seller};
use super::money::VatCategory;
use super::settings::Settings;

/// What keeps a draft from release, every reason named by its field.
pub fn release_problems(
    doc: &Invoice,
    lines: &[InvoiceLine],
    seller: &Settings,
    buyer: &Buyer,
) -> Vec<FieldError> {
    let mut e = FieldErrors::default();
    let missing = |e: &mut FieldErrors, field: &str, what: &str| {
        e.add_code(field, "missing", format!("{what} is required to release"))
    };
    if seller.legal_name.is_none() {
        missing(&mut e, "seller.legal_name", "the seller's legal name");
    }
    if seller.address.is_none() {
        missing(&mut e, "seller.address", "the seller's address");
    }
    if seller.vat_id.is_none() && seller.tax_number.is_none() {
        missing(&mut e, "seller.vat_id", "the seller's VAT id or tax number");
    }
    if seller.iban.is_none() {
        missing(
            &mut e,
            "seller.iban",
            "the seller's IBAN (payment instructions)",
        );
    }
    // EN 16931 asks for the buyer's address with its country (BR-10, 11);
    // XRechnung also for its post code (BR-DE-9).
    // An XRechnung is made for a buyer of that format, and for every buyer
    // with a Leitweg-ID (its XML is XRechnung then).
    let xrechnung =
        buyer.einvoice_format == EinvoiceFormat::Xrechnung || buyer.leitweg_id.is_some();
    match &buyer.address {
        None => missing(&mut e, "buyer.address", "the buyer's address"),
        Some(a) if xrechnung && a.postal_code.is_none() => missing(
            &mut e,
            "buyer.address.postal_code",
            "an XRechnung buyer's post code",
        ),
        Some(_) => {}
    }
    if xrechnung {
        // XRechnung: BT-10 (BR-DE-15), the seller's contact (BR-DE-2, 5, 6, 7)
        // and electronic address (PEPPOL-EN16931-R020).
        if buyer.leitweg_id.is_none() {
            missing(
                &mut e,
                "buyer.leitweg_id",
                "an XRechnung buyer's Leitweg-ID",
            );
        }
        // The seller's post code (BR-DE-4).
        if seller
            .address
            .as_ref()
            .is_some_and(|a| a.postal_code.is_none())
        {
            missing(
                &mut e,
                "seller.address.postal_code",
                "for XRechnung, the seller's post code",
            );
        }
        // The buyer's electronic address (PEPPOL-EN16931-R010).
        if buyer.email.is_none() {
            missing(
                &mut e,
                "buyer.invoice_email",
                "an XRechnung buyer's invoice e-mail (its electronic address)",
            );
        }
        for (field, value, what) in [
            (
                "seller.contact_name",
                &seller.contact_name,
                "the seller's contact name",
            ),
            (
                "seller.contact_phone",
                &seller.contact_phone,
                "the seller's contact phone",
            ),
            (
                "seller.contact_email",
                &seller.contact_email,
                "the seller's contact e-mail",
            ),
            (
                "seller.electronic_address",
                &seller.electronic_address,
                "the seller's electronic address",
            ),
        ] {
            if value.is_none() {
                missing(&mut e, field, &format!("for XRechnung, {what}"));
            }
        }
    }
    let outside = lines
        .iter()
        .filter(|l| l.vat_category == VatCategory::O)
        .count();
    if outside > 0 && outside < lines.len() {
        e.add_code(
            "lines",
            "inconsistent",
            "lines outside the scope of VAT (O) cannot share an invoice with other categories (BR-O-11)",
        );
    }
    if lines.is_empty() {
        missing(&mut e, "lines", "at least one line");
    }
    if lines.iter().any(|l| l.vat_category.needs_both_vat_ids()) {
        if seller.vat_id.is_none() {
            e.add_code(
                "seller.vat_id",
                "missing",
                "reverse charge and intra-EU supplies need the seller's VAT id",
            );
        }
        if buyer.vat_id.is_none() {
            e.add_code(
                "buyer.vat_id",
                "missing",
                "reverse charge and intra-EU supplies need the buyer's VAT id",
            );
        }
    }
    if doc.invoice_type == InvoiceType::CreditNote && doc.gross_total <= Decimal::ZERO {
        e.add_code(
            "lines",
            "missing",
            "a credit note credits more than nothing",
        );
    }
    e.0
}

impl Seller {
    /// The seller as the settings say it, once they hold what release needs.
    pub fn from_settings(s: &Settings) -> Option<Self> {
        Some(Self {
            legal_name: s.legal_name.clone()?,
            address: s.address.as_ref()?.0.clone(),
            vat_id: s.vat_id.clone(),
            tax_number: s.tax_number.clone(),
            iban: s.iban.clone(),
            bic: s.bic.clone(),
            bank_name: s.bank_name.clone(),
            contact_name: s.contact_name.clone(),
            contact_phone: s.contact_phone.clone(),
            contact_email: s.contact_email.clone(),
            electronic_address: s.electronic_address.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use sqlx::types::Json;

    use super::*;
    use crate::documents::sample;

    /// The settings of the sample seller.
    fn settings() -> Settings {
        let s = sample::seller();
        Settings {
            legal_name: Some(s.legal_name),
            address: Some(Json(s.address)),
            vat_id: s.vat_id,
            iban: s.iban,
            contact_name: s.contact_name,
            contact_phone: s.contact_phone,
            contact_email: s.contact_email,
            electronic_address: s.electronic_address,
            ..Settings::defaults()
        }
    }

    fn fields(problems: &[FieldError]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn a_buyer_with_a_leitweg_id_gets_xrechnung_s_checks() {
        let doc = sample::two_rates();
        let mut buyer = sample::buyer();
        assert!(release_problems(&doc.invoice, &doc.lines, &settings(), &buyer).is_empty());
        // A ZUGFeRD buyer with a Leitweg-ID gets an XRechnung XML: the
        // same rules as an XRechnung buyer.
        buyer.leitweg_id = Some("991-01234-44".into());
        buyer.email = None;
        let mut seller = settings();
        seller.address.as_mut().unwrap().0.postal_code = None;
        seller.contact_phone = None;
        assert_eq!(
            fields(&release_problems(&doc.invoice, &doc.lines, &seller, &buyer)),
            [
                "seller.address.postal_code",
                "buyer.invoice_email",
                "seller.contact_phone"
            ]
        );
        // Without the Leitweg-ID (and not XRechnung) none of them applies.
        buyer.leitweg_id = None;
        assert!(release_problems(&doc.invoice, &doc.lines, &seller, &buyer).is_empty());
    }
}
