//! How the PDF prints numbers, dates and codes: German conventions (the
//! labels are German first), amounts from the stored decimals with exactly
//! two places and commercial rounding, never through floats.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::invoice::UnitCode;
use crate::domain::money::{VatCategory, cents};

/// `1234.5` → `1.234,50`: two places, `.` between thousands, `,` before
/// the cents.
pub fn amount(v: Decimal) -> String {
    let mut v = cents(v);
    v.rescale(2);
    german(&v.to_string())
}

/// An amount with its currency: `1.234,50 €`, `1.234,50 CHF`.
pub fn money(v: Decimal, currency: &str) -> String {
    format!("{} {}", amount(v), currency_sign(currency))
}

/// `€` for EUR, the ISO code otherwise.
pub fn currency_sign(currency: &str) -> &str {
    if currency == "EUR" { "€" } else { currency }
}

/// A unit price: at least two places, more where the price has them
/// (`95` → `95,00`, `0.125` → `0,125`).
pub fn price(v: Decimal) -> String {
    let mut v = v.normalize();
    if v.scale() < 2 {
        v.rescale(2);
    }
    german(&v.to_string())
}

/// A quantity or a rate as it is, without trailing zeros (`2.50` → `2,5`).
pub fn plain(v: Decimal) -> String {
    german(&v.normalize().to_string())
}

/// A VAT rate: `19 %`, `7,5 %`.
pub fn rate(v: Decimal) -> String {
    format!("{} %", plain(v))
}

/// `31.03.2026`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// `01.03.2026 – 31.03.2026`; one date when only one is known.
pub fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<String> {
    match (from, to) {
        (Some(f), Some(t)) if f == t => Some(date(f)),
        (Some(f), Some(t)) => Some(format!("{} – {}", date(f), date(t))),
        (Some(d), None) | (None, Some(d)) => Some(date(d)),
        (None, None) => None,
    }
}

/// The unit a quantity is counted in, as a reader says it.
pub fn unit(u: UnitCode) -> &'static str {
    match u {
        UnitCode::HUR => "Std.",
        UnitCode::DAY => "Tag(e)",
        UnitCode::MON => "Mon.",
        UnitCode::C62 => "Stk.",
    }
}

/// A VAT category in words.
pub fn category(c: VatCategory) -> &'static str {
    match c {
        VatCategory::S => "Steuerpflichtig / Standard rate",
        VatCategory::Z => "Nullsatz / Zero rated",
        VatCategory::E => "Steuerbefreit / Exempt",
        VatCategory::AE => "Reverse Charge",
        VatCategory::K => "Innergem. Lieferung / Intra-EU supply",
        VatCategory::G => "Ausfuhr / Export",
        VatCategory::O => "Nicht steuerbar / Not subject to VAT",
    }
}

/// An IBAN in groups of four.
pub fn iban(s: &str) -> String {
    let compact: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rust's `-1234.56` as `-1.234,56`.
fn german(s: &str) -> String {
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped},{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_have_two_places_and_german_separators() {
        assert_eq!(amount(d("1472.63")), "1.472,63");
        assert_eq!(amount(d("0")), "0,00");
        assert_eq!(amount(d("5")), "5,00");
        assert_eq!(amount(d("999.995")), "1.000,00");
        assert_eq!(amount(d("-1234567.5")), "-1.234.567,50");
        assert_eq!(amount(d("123456.78")), "123.456,78");
        assert_eq!(money(d("235.125"), "EUR"), "235,13 €");
        assert_eq!(money(d("10"), "CHF"), "10,00 CHF");
    }

    #[test]
    fn prices_quantities_and_rates() {
        assert_eq!(price(d("95")), "95,00");
        assert_eq!(price(d("0.1250")), "0,125");
        assert_eq!(price(d("1000.00")), "1.000,00");
        assert_eq!(plain(d("2.50")), "2,5");
        assert_eq!(plain(d("1")), "1");
        assert_eq!(rate(d("19.00")), "19 %");
        assert_eq!(rate(d("7.5")), "7,5 %");
    }

    #[test]
    fn dates_periods_and_ibans() {
        let a = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let b = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(date(b), "31.03.2026");
        assert_eq!(period(Some(a), Some(b)).unwrap(), "01.03.2026 – 31.03.2026");
        assert_eq!(period(None, None), None);
        assert_eq!(
            iban("DE02120300000000202051"),
            "DE02 1203 0000 0000 2020 51"
        );
    }
}
