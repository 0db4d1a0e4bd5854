//! The CII writer's small pieces: text, dates, periods, amounts, postal
//! and electronic addresses, tax registrations.

use std::io;

use chrono::NaiveDate;
use psa_crm::domain::validate::Address;
use quick_xml::events::BytesText;
use rust_decimal::Decimal;

use super::W;
use crate::domain::money::cents;

pub(super) fn address(w: &mut W, a: &Address) -> io::Result<()> {
    w.create_element("ram:PostalTradeAddress")
        .write_inner_content(|w| {
            if let Some(pc) = &a.postal_code {
                text(w, "ram:PostcodeCode", pc)?;
            }
            text(w, "ram:LineOne", &a.line1)?;
            if let Some(l2) = &a.line2 {
                text(w, "ram:LineTwo", l2)?;
            }
            text(w, "ram:CityName", &a.city)?;
            text(w, "ram:CountryID", &a.country)?;
            if let Some(region) = &a.region {
                text(w, "ram:CountrySubDivisionName", region)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// BT-34 / BT-49: an e-mail address (EAS scheme `EM`).
pub(super) fn electronic_address(w: &mut W, uri: &str) -> io::Result<()> {
    w.create_element("ram:URIUniversalCommunication")
        .write_inner_content(|w| {
            w.create_element("ram:URIID")
                .with_attribute(("schemeID", "EM"))
                .write_text_content(BytesText::new(uri))?;
            Ok(())
        })?;
    Ok(())
}

pub(super) fn tax_registration(w: &mut W, scheme: &str, id: &str) -> io::Result<()> {
    w.create_element("ram:SpecifiedTaxRegistration")
        .write_inner_content(|w| {
            w.create_element("ram:ID")
                .with_attribute(("schemeID", scheme))
                .write_text_content(BytesText::new(id))?;
            Ok(())
        })?;
    Ok(())
}

pub(super) fn period(w: &mut W, from: NaiveDate, to: NaiveDate) -> io::Result<()> {
    w.create_element("ram:BillingSpecifiedPeriod")
        .write_inner_content(|w| {
            date(w, "ram:StartDateTime", "udt", from)?;
            date(w, "ram:EndDateTime", "udt", to)
        })?;
    Ok(())
}

/// `<name><{prefix}:DateTimeString format="102">YYYYMMDD</…></name>`.
pub(super) fn date(w: &mut W, name: &str, prefix: &str, d: NaiveDate) -> io::Result<()> {
    let inner = format!("{prefix}:DateTimeString");
    w.create_element(name).write_inner_content(|w| {
        w.create_element(inner.as_str())
            .with_attribute(("format", "102"))
            .write_text_content(BytesText::new(&d.format("%Y%m%d").to_string()))?;
        Ok(())
    })?;
    Ok(())
}

/// A text element; characters XML 1.0 cannot carry are left out.
pub(super) fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    w.create_element(name)
        .write_text_content(BytesText::new(&clean))?;
    Ok(())
}

/// An amount with exactly two places (BR-DEC-*).
pub fn amount(v: Decimal) -> String {
    let mut v = cents(v);
    v.rescale(2);
    v.to_string()
}

/// A quantity or price as stored, without trailing zeros.
pub(super) fn plain(v: Decimal) -> String {
    v.normalize().to_string()
}
