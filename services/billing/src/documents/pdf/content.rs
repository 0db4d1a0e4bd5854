//! What the invoice says, laid out: letterhead, address and facts, the
//! line table, the VAT breakdown, totals, payment details and notes. The
//! labels are German with the English term after a slash.

use psa_crm::domain::validate::Address;

use super::format as f;
use super::layout::{Fonts, LEFT, Layout, Op, RIGHT, TOP};
use crate::domain::invoice::{InvoiceDocument, InvoiceLine, InvoiceType, Seller};
use crate::domain::money::VatCategory;

/// The line table's columns: right edges of the numbers, the description's
/// left edge and width.
const POS_R: f32 = LEFT + 18.0;
const DESC_X: f32 = LEFT + 24.0;
const QTY_R: f32 = 345.0;
const DESC_W: f32 = QTY_R - 64.0 - DESC_X;
const PRICE_R: f32 = 415.0;
const VAT_R: f32 = 462.0;
/// A description longer than this many lines is cut.
const DESC_MAX_LINES: usize = 12;
/// The facts block beside the address.
const INFO_X: f32 = 322.0;

/// The pages of a released document.
pub fn pages(doc: &InvoiceDocument, seller: &Seller, number: &str, fonts: &Fonts) -> Vec<Vec<Op>> {
    let inv = &doc.invoice;
    let title = title(inv.invoice_type);
    let mut l = Layout::new(fonts, format!("{title} {number} · {}", inv.buyer.0.name));
    letterhead(&mut l, seller);
    addresses(&mut l, doc, seller, number);

    l.text(
        LEFT,
        l.y + 15.0,
        15.0,
        true,
        false,
        format!("{title} {number}"),
    );
    l.y += 22.0;
    if inv.invoice_type == InvoiceType::CreditNote {
        let n = inv.preceding_number.as_deref().unwrap_or("?");
        let (de, en) = match inv.preceding_issue_date {
            Some(d) => (
                format!(" vom {}", f::date(d)),
                format!(" of {}", f::date(d)),
            ),
            None => (String::new(), String::new()),
        };
        l.paragraph(
            &format!("Diese Gutschrift korrigiert die Rechnung {n}{de}. / This credit note corrects invoice {n}{en}."),
            9.0,
            false,
            false,
        );
    }
    l.paragraph(
        &format!("Beträge in {0} / Amounts in {0}", inv.currency),
        7.5,
        false,
        true,
    );
    l.y += 4.0;

    line_table(&mut l, doc);
    vat_table(&mut l, doc);
    totals(&mut l, doc);
    payment(&mut l, doc, seller, number);
    if let Some(notes) = inv.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        l.heading("Hinweise / Notes", 12.0);
        l.paragraph(notes, 8.5, false, false);
    }

    let mut footer = vec![seller.legal_name.clone(), one_line(&seller.address)];
    if let Some(v) = &seller.vat_id {
        footer.push(format!("USt-IdNr. {v}"));
    } else if let Some(t) = &seller.tax_number {
        footer.push(format!("St.-Nr. {t}"));
    }
    l.finish(&footer.join(" · "))
}

pub fn title(t: InvoiceType) -> &'static str {
    match t {
        InvoiceType::Invoice => "Rechnung / Invoice",
        InvoiceType::CreditNote => "Gutschrift / Credit note",
    }
}

/// `Street 1, 12345 City, DE`.
fn one_line(a: &Address) -> String {
    let mut parts = vec![a.line1.clone()];
    parts.extend(a.line2.clone());
    parts.push(city_line(a));
    parts.extend(a.region.clone());
    parts.push(a.country.clone());
    parts.retain(|p| !p.trim().is_empty());
    parts.join(", ")
}

fn city_line(a: &Address) -> String {
    match &a.postal_code {
        Some(pc) => format!("{pc} {}", a.city),
        None => a.city.clone(),
    }
}

/// The seller's name and address on the left, tax ids and contact on the
/// right, a rule below.
fn letterhead(l: &mut Layout, s: &Seller) {
    let fonts = l.fonts;
    let mut y = TOP;
    for line in fonts.wrap_max(&s.legal_name, 14.0, true, 290.0, 2) {
        l.text(LEFT, y + 14.0, 14.0, true, false, line);
        y += 17.0;
    }
    for line in fonts.wrap_max(&one_line(&s.address), 8.0, false, 290.0, 2) {
        l.text(LEFT, y + 8.0, 8.0, false, true, line);
        y += 10.5;
    }

    let x = 362.0;
    let mut rows = Vec::new();
    rows.extend(s.contact_name.clone());
    rows.extend(s.contact_phone.as_ref().map(|p| format!("Tel. {p}")));
    rows.extend(s.contact_email.clone());
    rows.extend(
        s.vat_id
            .as_ref()
            .map(|v| format!("USt-IdNr. / VAT ID: {v}")),
    );
    rows.extend(
        s.tax_number
            .as_ref()
            .map(|t| format!("Steuernr. / Tax no.: {t}")),
    );
    let mut ry = TOP + 2.0;
    for row in rows {
        let row = fonts.ellipsis(&row, 8.0, false, RIGHT - x);
        l.text(x, ry + 8.0, 8.0, false, false, row);
        ry += 10.5;
    }
    l.y = y.max(ry) + 8.0;
    l.rule(LEFT, RIGHT, l.y, 0.6);
    l.y += 14.0;
}

/// The buyer's address (with the sender line above it, for window
/// envelopes) and, beside it, the document's facts.
fn addresses(l: &mut Layout, doc: &InvoiceDocument, seller: &Seller, number: &str) {
    let fonts = l.fonts;
    let inv = &doc.invoice;
    let b = &inv.buyer.0;
    let top = l.y.max(124.0);
    let w = 250.0;

    let sender = format!("{} · {}", seller.legal_name, one_line(&seller.address));
    l.text(
        LEFT,
        top + 6.5,
        6.5,
        false,
        true,
        fonts.ellipsis(&sender, 6.5, false, w),
    );
    l.rule(LEFT, LEFT + w, top + 9.0, 0.3);
    let mut y = top + 22.0;
    for line in fonts.wrap_max(&b.name, 10.5, true, w, 2) {
        l.text(LEFT, y, 10.5, true, false, line);
        y += 13.5;
    }
    if let Some(a) = &b.address {
        let mut lines = vec![a.line1.clone()];
        lines.extend(a.line2.clone());
        lines.push(city_line(a));
        lines.extend(a.region.clone());
        if a.country != seller.address.country {
            lines.push(a.country.clone());
        }
        for line in lines.iter().filter(|s| !s.trim().is_empty()) {
            l.text(
                LEFT,
                y,
                10.0,
                false,
                false,
                fonts.ellipsis(line, 10.0, false, w),
            );
            y += 13.0;
        }
    }

    let (no_label, date_label) = match inv.invoice_type {
        InvoiceType::Invoice => ("Rechnungsnr. / Invoice no.", "Rechnungsdatum / Date"),
        InvoiceType::CreditNote => ("Gutschriftnr. / Credit note no.", "Datum / Date"),
    };
    let mut rows: Vec<(&str, String)> = vec![(no_label, number.to_owned())];
    rows.extend(inv.issue_date.map(|d| (date_label, f::date(d))));
    if inv.invoice_type == InvoiceType::CreditNote {
        rows.extend(
            inv.preceding_number
                .clone()
                .map(|n| ("Zu Rechnung / Corrects invoice", n)),
        );
        rows.extend(
            inv.preceding_issue_date
                .map(|d| ("vom / dated", f::date(d))),
        );
    } else {
        rows.extend(inv.due_date.map(|d| ("Fällig am / Due date", f::date(d))));
    }
    rows.extend(
        f::period(inv.period_from, inv.period_to)
            .map(|p| ("Leistungszeitraum / Service period", p)),
    );
    rows.push(("Kundennr. / Customer no.", b.customer_number.clone()));
    rows.extend(
        b.vat_id
            .clone()
            .map(|v| ("USt-IdNr. Kunde / Buyer VAT ID", v)),
    );
    rows.extend(b.leitweg_id.clone().map(|v| ("Leitweg-ID", v)));
    // The total on page 1, whatever the number of pages, also as a
    // transfer form names it (`EUR 1472.63`).
    rows.push((
        "Gesamtbetrag / Total",
        format!(
            "{} ({} {})",
            f::money(inv.gross_total, &inv.currency),
            inv.currency,
            crate::documents::cii::amount(inv.gross_total)
        ),
    ));
    let mut iy = top;
    for (label, value) in rows {
        key_value(l, INFO_X, &mut iy, label, &value, 8.0);
    }
    l.y = y.max(iy) + 20.0;
}

/// A label on the left and its value right-aligned, the value on a line
/// of its own when both do not fit.
fn key_value(l: &mut Layout, x: f32, y: &mut f32, label: &str, value: &str, size: f32) {
    let fonts = l.fonts;
    let avail = RIGHT - x;
    let lw = fonts.width(label, size, false);
    let vw = fonts.width(value, size, false);
    l.text(x, *y + size, size, false, true, label);
    if lw + vw + 8.0 > avail {
        *y += size * 1.3;
    }
    l.text_right(
        RIGHT,
        *y + size,
        size,
        false,
        false,
        fonts.ellipsis(value, size, false, avail),
    );
    *y += size * 1.4;
}

fn line_table_head(l: &mut Layout) {
    let y = l.y;
    l.shade(LEFT, y, RIGHT - LEFT, 15.0);
    let b = y + 10.0;
    l.text_right(POS_R, b, 7.5, true, false, "Pos.");
    l.text(DESC_X, b, 7.5, true, false, "Beschreibung / Description");
    l.text_right(QTY_R, b, 7.5, true, false, "Menge / Qty");
    l.text_right(PRICE_R, b, 7.5, true, false, "Preis / Price");
    l.text_right(VAT_R, b, 7.5, true, false, "USt / VAT");
    l.text_right(RIGHT, b, 7.5, true, false, "Netto / Net");
    l.y += 19.0;
}

/// One row per line; rows never split, the head repeats on every page.
fn line_table(l: &mut Layout, doc: &InvoiceDocument) {
    let fonts = l.fonts;
    let (size, lead) = (8.5, 11.0);
    l.ensure(19.0 + 2.0 * lead);
    line_table_head(l);
    let mut lines: Vec<&InvoiceLine> = doc.lines.iter().collect();
    lines.sort_by_key(|x| x.position);
    for line in lines {
        let desc = fonts.wrap_max(&line.description, size, false, DESC_W, DESC_MAX_LINES);
        let own_period =
            (line.period_from, line.period_to) != (doc.invoice.period_from, doc.invoice.period_to);
        let period = f::period(line.period_from, line.period_to).filter(|_| own_period);
        let h = desc.len() as f32 * lead + if period.is_some() { 10.0 } else { 0.0 } + 4.0;
        if l.ensure(h) {
            line_table_head(l);
        }
        let base = l.y + size;
        l.text_right(POS_R, base, size, false, false, line.position.to_string());
        let mut y = base;
        for d in desc {
            l.text(DESC_X, y, size, false, false, d);
            y += lead;
        }
        if let Some(p) = period {
            l.text(
                DESC_X,
                y - 1.0,
                7.0,
                false,
                true,
                format!("Zeitraum / Period {p}"),
            );
        }
        let qty = format!("{} {}", f::plain(line.quantity), f::unit(line.unit_code));
        l.text_right(QTY_R, base, size, false, false, qty);
        l.text_right(PRICE_R, base, size, false, false, f::price(line.unit_price));
        let vat = match line.vat_category {
            VatCategory::S | VatCategory::Z => f::rate(line.vat_rate),
            c => c.as_str().to_owned(),
        };
        l.text_right(VAT_R, base, size, false, false, vat);
        l.text_right(RIGHT, base, size, false, false, f::amount(line.net_amount));
        l.y += h;
        l.rule(LEFT, RIGHT, l.y - 3.0, 0.2);
    }
    l.y += 12.0;
}

/// BG-23: one row per category and rate, the exemption reason below.
fn vat_table(l: &mut Layout, doc: &InvoiceDocument) {
    let fonts = l.fonts;
    let (rate_r, base_r) = (345.0, 445.0);
    let size = 8.5;
    l.heading("Umsatzsteuer / VAT breakdown", 34.0);
    l.shade(LEFT, l.y, RIGHT - LEFT, 15.0);
    let b = l.y + 10.0;
    l.text(LEFT + 4.0, b, 7.5, true, false, "Kategorie / Category");
    l.text_right(rate_r, b, 7.5, true, false, "Satz / Rate");
    l.text_right(base_r, b, 7.5, true, false, "Basis / Base");
    l.text_right(RIGHT, b, 7.5, true, false, "Steuer / VAT");
    l.y += 19.0;
    for g in &doc.vat_breakdown {
        let reason = g
            .exemption_reason
            .as_deref()
            .map(|r| fonts.wrap_max(r, 7.5, false, RIGHT - LEFT - 20.0, 6))
            .unwrap_or_default();
        l.ensure(11.0 + reason.len() as f32 * 9.5);
        let base = l.y + size;
        let cat = format!("{} – {}", g.category.as_str(), f::category(g.category));
        l.text(
            LEFT + 4.0,
            base,
            size,
            false,
            false,
            fonts.ellipsis(&cat, size, false, rate_r - 60.0 - LEFT),
        );
        l.text_right(rate_r, base, size, false, false, f::rate(g.rate));
        l.text_right(base_r, base, size, false, false, f::amount(g.base));
        l.text_right(RIGHT, base, size, false, false, f::amount(g.tax));
        l.y += 12.0;
        for r in reason {
            l.text(LEFT + 14.0, l.y + 7.5, 7.5, false, true, r);
            l.y += 9.5;
        }
        l.y += 2.0;
    }
    l.rule(LEFT, RIGHT, l.y, 0.4);
    l.y += 10.0;
}

/// BT-109, 110, 112, 115, right-aligned and kept together.
fn totals(l: &mut Layout, doc: &InvoiceDocument) {
    let inv = &doc.invoice;
    let fonts = l.fonts;
    let x = 300.0;
    l.ensure(4.0 * 13.0 + 22.0);
    let cur = inv.currency.as_str();
    let due_label = match inv.invoice_type {
        InvoiceType::Invoice => "Zahlbetrag / Amount due",
        InvoiceType::CreditNote => "Gutschriftsbetrag / Amount credited",
    };
    let rows = [
        ("Summe netto / Total net", inv.net_total, false, 9.0),
        ("Umsatzsteuer / VAT", inv.tax_total, false, 9.0),
        ("Gesamtbetrag / Total gross", inv.gross_total, true, 9.0),
        (due_label, inv.gross_total, true, 10.5),
    ];
    for (i, (label, v, bold, mut size)) in rows.into_iter().enumerate() {
        if i == 2 {
            l.rule(x, RIGHT, l.y + 1.0, 0.5);
            l.y += 4.0;
        }
        let value = f::money(v, cur);
        while size > 7.0
            && fonts.width(label, size, bold) + fonts.width(&value, size, bold) + 10.0 > RIGHT - x
        {
            size -= 0.5;
        }
        l.text(x, l.y + size, size, bold, false, label);
        l.text_right(RIGHT, l.y + size, size, bold, false, value);
        l.y += size + 5.0;
    }
    l.rule(x, RIGHT, l.y, 0.5);
    l.rule(x, RIGHT, l.y + 1.8, 0.5);
    l.y += 20.0;
}

/// BG-16 and the due date: how to pay (an invoice) or what happens to the
/// amount (a credit note).
fn payment(l: &mut Layout, doc: &InvoiceDocument, seller: &Seller, number: &str) {
    let inv = &doc.invoice;
    let amount = f::money(inv.gross_total, &inv.currency);
    if inv.invoice_type == InvoiceType::CreditNote {
        l.heading("Zahlung / Payment", 24.0);
        l.paragraph(
            &format!(
                "Der Betrag von {amount} wird Ihnen erstattet oder mit offenen Rechnungen verrechnet. / \
                 The amount of {amount} will be refunded or set off against open invoices."
            ),
            8.5,
            false,
            false,
        );
        l.y += 12.0;
        return;
    }
    let text = match inv.due_date {
        Some(d) => {
            let d = f::date(d);
            format!(
                "Bitte überweisen Sie {amount} bis zum {d} unter Angabe der Rechnungsnummer {number}. / \
                 Please transfer {amount} by {d}, quoting invoice number {number}."
            )
        }
        None => format!(
            "Bitte überweisen Sie {amount} unter Angabe der Rechnungsnummer {number}. / \
             Please transfer {amount}, quoting invoice number {number}."
        ),
    };
    let mut rows = Vec::new();
    if let Some(iban) = &seller.iban {
        rows.push(("Empfänger / Payee", seller.legal_name.clone()));
        rows.push(("IBAN", f::iban(iban)));
        rows.extend(seller.bic.clone().map(|b| ("BIC", b)));
        rows.extend(seller.bank_name.clone().map(|b| ("Bank", b)));
    }
    rows.extend(inv.due_date.map(|d| ("Fällig am / Due date", f::date(d))));
    rows.push(("Verwendungszweck / Reference", number.to_owned()));
    // The block stays together (it is short).
    let text_h = l.fonts.wrap(&text, 8.5, false, RIGHT - LEFT).len() as f32 * 8.5 * 1.3;
    l.heading("Zahlung / Payment", text_h + 4.0 + rows.len() as f32 * 12.0);
    l.paragraph(&text, 8.5, false, false);
    l.y += 4.0;
    let vx = LEFT + 150.0;
    for (label, value) in rows {
        l.ensure(12.0);
        l.text(LEFT, l.y + 8.5, 8.5, false, true, label);
        let value = l.fonts.ellipsis(&value, 8.5, false, RIGHT - vx);
        l.text(vx, l.y + 8.5, 8.5, false, false, value);
        l.y += 12.0;
    }
    l.y += 12.0;
}
