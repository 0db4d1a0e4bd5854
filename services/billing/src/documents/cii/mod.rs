//! The released document as UN/CEFACT Cross Industry Invoice (CII D16B):
//! XRechnung 3.0 for buyers with a Leitweg-ID, Factur-X / ZUGFeRD profile
//! EN 16931 otherwise (and inside the PDF). One writer; the profiles differ
//! in the specification identifier (BT-24) only, since the document always
//! carries what XRechnung asks for where the data has it.
//!
//! Elements are written in the order the D16B schema's sequences demand;
//! amounts come from the stored decimals, printed with two places, the
//! VAT breakdown is the one computed once per category and rate.

use std::io;

use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use rust_decimal::Decimal;

use crate::domain::invoice::{Buyer, InvoiceDocument, InvoiceType, Seller};
use crate::domain::money::VatCategory;

/// Which specification the XML claims (BT-24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// XRechnung 3.0, CII syntax: German public-sector buyers.
    Xrechnung,
    /// EN 16931 core, the Factur-X / ZUGFeRD profile `EN 16931`.
    En16931,
}

impl Profile {
    /// BT-24.
    pub fn specification_id(self) -> &'static str {
        match self {
            Self::Xrechnung => {
                "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
            }
            Self::En16931 => "urn:cen.eu:en16931:2017",
        }
    }

    /// Its short name, as the API shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Xrechnung => "xrechnung",
            Self::En16931 => "en16931",
        }
    }

    /// The profile of a buyer's XML: XRechnung where the buyer has a
    /// Leitweg-ID (XRechnung needs it as BT-10, and a placeholder would be
    /// a lie), EN 16931 otherwise.
    pub fn for_buyer(buyer: &Buyer) -> Self {
        if buyer.leitweg_id.is_some() {
            Self::Xrechnung
        } else {
            Self::En16931
        }
    }
}

/// BT-23: the Peppol billing process XRechnung adopts (PEPPOL-EN16931-R001).
const BUSINESS_PROCESS: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

const NS: [(&str, &str); 4] = [
    (
        "xmlns:rsm",
        "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    ),
    (
        "xmlns:ram",
        "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    ),
    (
        "xmlns:qdt",
        "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    ),
    (
        "xmlns:udt",
        "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    ),
];

/// The document's CII XML. `doc` must be released (number, dates, seller).
pub fn write(doc: &InvoiceDocument, profile: Profile) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    document(&mut w, doc, profile).expect("writing to memory does not fail");
    let mut out = w.into_inner();
    out.push(b'\n');
    out
}

pub(super) type W = Writer<Vec<u8>>;

/// UNTDID 1001.
pub fn type_code(t: InvoiceType) -> &'static str {
    match t {
        InvoiceType::Invoice => "380",
        InvoiceType::CreditNote => "381",
    }
}

/// VATEX code for the categories whose reason has one.
fn exemption_code(c: VatCategory) -> Option<&'static str> {
    match c {
        VatCategory::AE => Some("VATEX-EU-AE"),
        VatCategory::K => Some("VATEX-EU-IC"),
        VatCategory::G => Some("VATEX-EU-G"),
        VatCategory::O => Some("VATEX-EU-O"),
        VatCategory::S | VatCategory::Z | VatCategory::E => None,
    }
}

fn document(w: &mut W, doc: &InvoiceDocument, profile: Profile) -> io::Result<()> {
    let inv = &doc.invoice;
    let seller = &inv.seller.as_ref().expect("a released document").0;
    let buyer = &inv.buyer.0;
    let issue = inv.issue_date.expect("a released document");
    // No VAT ids on a document outside the scope of VAT (BR-O-02, 03, 04).
    let outside = doc
        .vat_breakdown
        .iter()
        .any(|g| g.category == VatCategory::O);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = w.create_element("rsm:CrossIndustryInvoice");
    for ns in NS {
        root = root.with_attribute(ns);
    }
    root.write_inner_content(|w| {
        w.create_element("rsm:ExchangedDocumentContext")
            .write_inner_content(|w| {
                w.create_element("ram:BusinessProcessSpecifiedDocumentContextParameter")
                    .write_inner_content(|w| text(w, "ram:ID", BUSINESS_PROCESS))?;
                w.create_element("ram:GuidelineSpecifiedDocumentContextParameter")
                    .write_inner_content(|w| text(w, "ram:ID", profile.specification_id()))?;
                Ok(())
            })?;
        w.create_element("rsm:ExchangedDocument")
            .write_inner_content(|w| {
                text(w, "ram:ID", inv.number.as_deref().unwrap_or_default())?;
                text(w, "ram:TypeCode", type_code(inv.invoice_type))?;
                date(w, "ram:IssueDateTime", "udt", issue)?;
                if let Some(notes) = inv.notes.as_deref().filter(|n| !n.trim().is_empty()) {
                    w.create_element("ram:IncludedNote")
                        .write_inner_content(|w| text(w, "ram:Content", notes))?;
                }
                Ok(())
            })?;
        w.create_element("rsm:SupplyChainTradeTransaction")
            .write_inner_content(|w| {
                for l in &doc.lines {
                    line(w, l)?;
                }
                agreement(w, seller, buyer, outside)?;
                delivery(w, doc, buyer)?;
                settlement(w, doc, seller, issue)
            })?;
        Ok(())
    })?;
    Ok(())
}

fn line(w: &mut W, l: &crate::domain::invoice::InvoiceLine) -> io::Result<()> {
    w.create_element("ram:IncludedSupplyChainTradeLineItem")
        .write_inner_content(|w| {
            w.create_element("ram:AssociatedDocumentLineDocument")
                .write_inner_content(|w| text(w, "ram:LineID", &l.position.to_string()))?;
            w.create_element("ram:SpecifiedTradeProduct")
                .write_inner_content(|w| text(w, "ram:Name", &l.description))?;
            w.create_element("ram:SpecifiedLineTradeAgreement")
                .write_inner_content(|w| {
                    w.create_element("ram:NetPriceProductTradePrice")
                        .write_inner_content(|w| {
                            text(w, "ram:ChargeAmount", &plain(l.unit_price))
                        })?;
                    Ok(())
                })?;
            w.create_element("ram:SpecifiedLineTradeDelivery")
                .write_inner_content(|w| {
                    w.create_element("ram:BilledQuantity")
                        .with_attribute(("unitCode", l.unit_code.as_str()))
                        .write_text_content(BytesText::new(&plain(l.quantity)))?;
                    Ok(())
                })?;
            w.create_element("ram:SpecifiedLineTradeSettlement")
                .write_inner_content(|w| {
                    w.create_element("ram:ApplicableTradeTax")
                        .write_inner_content(|w| {
                            text(w, "ram:TypeCode", "VAT")?;
                            text(w, "ram:CategoryCode", l.vat_category.as_str())?;
                            if l.vat_category != VatCategory::O {
                                text(w, "ram:RateApplicablePercent", &amount(l.vat_rate))?;
                            }
                            Ok(())
                        })?;
                    if let (Some(from), Some(to)) = (l.period_from, l.period_to) {
                        period(w, from, to)?;
                    }
                    w.create_element("ram:SpecifiedTradeSettlementLineMonetarySummation")
                        .write_inner_content(|w| {
                            text(w, "ram:LineTotalAmount", &amount(l.net_amount))
                        })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn agreement(w: &mut W, seller: &Seller, buyer: &Buyer, outside: bool) -> io::Result<()> {
    w.create_element("ram:ApplicableHeaderTradeAgreement")
        .write_inner_content(|w| {
            if let Some(leitweg) = &buyer.leitweg_id {
                text(w, "ram:BuyerReference", leitweg)?;
            }
            w.create_element("ram:SellerTradeParty")
                .write_inner_content(|w| {
                    if outside {
                        // No VAT id outside the scope of VAT (BR-O-02): the
                        // tax number identifies the seller (BT-29, BR-CO-26).
                        if let Some(id) = seller.tax_number.as_ref().or(seller.vat_id.as_ref()) {
                            text(w, "ram:ID", id)?;
                        }
                    }
                    text(w, "ram:Name", &seller.legal_name)?;
                    if seller.contact_name.is_some()
                        || seller.contact_phone.is_some()
                        || seller.contact_email.is_some()
                    {
                        w.create_element("ram:DefinedTradeContact")
                            .write_inner_content(|w| {
                                if let Some(name) = &seller.contact_name {
                                    text(w, "ram:PersonName", name)?;
                                }
                                if let Some(phone) = &seller.contact_phone {
                                    w.create_element("ram:TelephoneUniversalCommunication")
                                        .write_inner_content(|w| {
                                            text(w, "ram:CompleteNumber", phone)
                                        })?;
                                }
                                if let Some(mail) = &seller.contact_email {
                                    w.create_element("ram:EmailURIUniversalCommunication")
                                        .write_inner_content(|w| text(w, "ram:URIID", mail))?;
                                }
                                Ok(())
                            })?;
                    }
                    address(w, &seller.address)?;
                    if let Some(uri) = &seller.electronic_address {
                        electronic_address(w, uri)?;
                    }
                    if let Some(vat) = seller.vat_id.as_deref().filter(|_| !outside) {
                        tax_registration(w, "VA", vat)?;
                    }
                    if let Some(number) = &seller.tax_number {
                        tax_registration(w, "FC", number)?;
                    }
                    Ok(())
                })?;
            w.create_element("ram:BuyerTradeParty")
                .write_inner_content(|w| {
                    text(w, "ram:ID", &buyer.customer_number)?;
                    text(w, "ram:Name", &buyer.name)?;
                    if let Some(a) = &buyer.address {
                        address(w, a)?;
                    }
                    if let Some(mail) = &buyer.email {
                        electronic_address(w, mail)?;
                    }
                    if let Some(vat) = buyer.vat_id.as_deref().filter(|_| !outside) {
                        tax_registration(w, "VA", vat)?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

/// Delivery: the service period is BG-14, in the settlement; goods
/// supplied to another EU country name where they went (BT-80, BR-IC-12).
fn delivery(w: &mut W, doc: &InvoiceDocument, buyer: &Buyer) -> io::Result<()> {
    let shipped = doc
        .vat_breakdown
        .iter()
        .any(|g| g.category == VatCategory::K);
    match buyer.address.as_ref().filter(|_| shipped) {
        Some(a) => {
            w.create_element("ram:ApplicableHeaderTradeDelivery")
                .write_inner_content(|w| {
                    w.create_element("ram:ShipToTradeParty")
                        .write_inner_content(|w| {
                            text(w, "ram:Name", &buyer.name)?;
                            address(w, a)
                        })?;
                    Ok(())
                })?;
        }
        None => {
            w.create_element("ram:ApplicableHeaderTradeDelivery")
                .write_empty()?;
        }
    }
    Ok(())
}

fn settlement(
    w: &mut W,
    doc: &InvoiceDocument,
    seller: &Seller,
    issue: NaiveDate,
) -> io::Result<()> {
    let inv = &doc.invoice;
    let number = inv.number.as_deref().unwrap_or_default();
    w.create_element("ram:ApplicableHeaderTradeSettlement")
        .write_inner_content(|w| {
            if inv.invoice_type == InvoiceType::Invoice {
                // BT-83: what the buyer's transfer names.
                text(w, "ram:PaymentReference", number)?;
            }
            text(w, "ram:InvoiceCurrencyCode", &inv.currency)?;
            payment_means(w, doc, seller)?;
            for g in &doc.vat_breakdown {
                w.create_element("ram:ApplicableTradeTax")
                    .write_inner_content(|w| {
                        text(w, "ram:CalculatedAmount", &amount(g.tax))?;
                        text(w, "ram:TypeCode", "VAT")?;
                        let exempt = !matches!(g.category, VatCategory::S | VatCategory::Z);
                        if let Some(reason) = g.exemption_reason.as_deref().filter(|_| exempt) {
                            text(w, "ram:ExemptionReason", reason)?;
                        }
                        text(w, "ram:BasisAmount", &amount(g.base))?;
                        text(w, "ram:CategoryCode", g.category.as_str())?;
                        if let Some(code) = exemption_code(g.category) {
                            text(w, "ram:ExemptionReasonCode", code)?;
                        }
                        // Every group states its rate (BR-DE-14), 0 where
                        // the category has none.
                        text(w, "ram:RateApplicablePercent", &amount(g.rate))?;
                        Ok(())
                    })?;
            }
            let (from, to) = service_period(doc, issue);
            period(w, from, to)?;
            if inv.invoice_type == InvoiceType::Invoice {
                w.create_element("ram:SpecifiedTradePaymentTerms")
                    .write_inner_content(|w| {
                        if let Some(due) = inv.due_date {
                            text(
                                w,
                                "ram:Description",
                                &format!("Zahlbar ohne Abzug bis {}", due.format("%d.%m.%Y")),
                            )?;
                            date(w, "ram:DueDateDateTime", "udt", due)?;
                        }
                        Ok(())
                    })?;
            }
            w.create_element("ram:SpecifiedTradeSettlementHeaderMonetarySummation")
                .write_inner_content(|w| {
                    text(w, "ram:LineTotalAmount", &amount(line_total(doc)))?;
                    text(w, "ram:TaxBasisTotalAmount", &amount(inv.net_total))?;
                    w.create_element("ram:TaxTotalAmount")
                        .with_attribute(("currencyID", inv.currency.as_str()))
                        .write_text_content(BytesText::new(&amount(inv.tax_total)))?;
                    text(w, "ram:GrandTotalAmount", &amount(inv.gross_total))?;
                    text(w, "ram:DuePayableAmount", &amount(inv.gross_total))?;
                    Ok(())
                })?;
            if let (Some(preceding), Some(on)) = (&inv.preceding_number, inv.preceding_issue_date) {
                w.create_element("ram:InvoiceReferencedDocument")
                    .write_inner_content(|w| {
                        text(w, "ram:IssuerAssignedID", preceding)?;
                        date(w, "ram:FormattedIssueDateTime", "qdt", on)
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// BG-16. An invoice asks for a SEPA credit transfer to the seller's IBAN
/// (58); a credit note is money the seller owes, settled with the invoice
/// or paid back, so it names no account (1, instrument not defined).
fn payment_means(w: &mut W, doc: &InvoiceDocument, seller: &Seller) -> io::Result<()> {
    let inv = &doc.invoice;
    w.create_element("ram:SpecifiedTradeSettlementPaymentMeans")
        .write_inner_content(|w| match (inv.invoice_type, &seller.iban) {
            (InvoiceType::Invoice, Some(iban)) => {
                text(w, "ram:TypeCode", "58")?;
                text(w, "ram:Information", "SEPA-Überweisung")?;
                w.create_element("ram:PayeePartyCreditorFinancialAccount")
                    .write_inner_content(|w| {
                        text(w, "ram:IBANID", iban)?;
                        text(w, "ram:AccountName", &seller.legal_name)
                    })?;
                if let Some(bic) = &seller.bic {
                    w.create_element("ram:PayeeSpecifiedCreditorFinancialInstitution")
                        .write_inner_content(|w| text(w, "ram:BICID", bic))?;
                }
                Ok(())
            }
            _ => {
                text(w, "ram:TypeCode", "1")?;
                let what = match &inv.preceding_number {
                    Some(n) => format!("Gutschrift zur Rechnung {n}: Verrechnung oder Erstattung"),
                    None => "Verrechnung oder Erstattung".to_owned(),
                };
                text(w, "ram:Information", &what)
            }
        })?;
    Ok(())
}

/// BG-14: the frozen service period, widened to hold every line's period
/// (a line period outside the document's is refused, PEPPOL-EN16931-R110).
pub fn service_period(doc: &InvoiceDocument, issue: NaiveDate) -> (NaiveDate, NaiveDate) {
    let inv = &doc.invoice;
    let mut from = inv.period_from.unwrap_or(issue);
    let mut to = inv.period_to.unwrap_or(issue);
    for l in &doc.lines {
        if let Some(f) = l.period_from {
            from = from.min(f);
        }
        if let Some(t) = l.period_to {
            to = to.max(t);
        }
    }
    (from, to)
}

/// BT-106: the exact sum of the line amounts.
fn line_total(doc: &InvoiceDocument) -> Decimal {
    doc.lines.iter().map(|l| l.net_amount).sum()
}

mod xml;

pub use xml::amount;
use xml::{address, date, electronic_address, period, plain, tax_registration, text};

#[cfg(test)]
mod tests;
