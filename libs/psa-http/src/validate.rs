//! Field checks that collect every problem of a request body (instead of
//! failing at the first), answered as one 422 problem with `errors[]`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::FieldError;
use crate::formats::{self, Format};

/// The field errors of one body so far; [`FieldErrors::finish`] gives them.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// An error with a code more specific than `invalid`.
    pub fn add_code(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::with_code(field, code, message));
    }

    /// One line of at most `max` characters with something visible in it
    /// ([`formats::LINE`]): no control characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        self.formatted(
            field,
            value,
            max,
            &formats::LINE,
            "must be one line of text",
        );
    }

    /// Text over one or more lines ([`formats::PROSE`]): tabs and line
    /// breaks allowed, other control characters not.
    pub fn prose(&mut self, field: &str, value: &str, max: usize) {
        self.formatted(
            field,
            value,
            max,
            &formats::PROSE,
            "must be text without control characters",
        );
    }

    pub fn opt_prose(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.prose(field, v, max);
        }
    }

    fn formatted(&mut self, field: &str, value: &str, max: usize, format: &Format, message: &str) {
        if value.trim().is_empty() {
            self.add_code(field, "required", "must not be empty");
        } else if !format.matches(value) {
            self.add(field, message);
        } else if value.chars().count() > max {
            self.add_code(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        }
    }

    /// `min` to `max` characters, taken as typed (not trimmed): for secrets
    /// such as passwords, where every character counts.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        if !(min..=max).contains(&value.chars().count()) {
            self.add_code(
                field,
                "length",
                format!("must be {min} to {max} characters"),
            );
        }
    }

    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    /// An e-mail address ([`formats::EMAIL`]).
    pub fn email(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.chars().count() > formats::EMAIL_MAX || !formats::EMAIL.matches(v) {
            self.add(field, "must be an e-mail address");
        }
    }

    /// A phone number ([`formats::PHONE`]).
    pub fn phone(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.len() > formats::PHONE_MAX || !formats::PHONE.matches(v) {
            self.add(
                field,
                "must be a phone number (3 to 20 digits, spaces, + - ( ) . / x)",
            );
        }
    }

    /// An http or https URL ([`formats::WEB_URL`]).
    pub fn url(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.chars().count() > formats::URL_MAX || !formats::WEB_URL.matches(v) {
            self.add(field, "must be an http or https URL");
        }
    }

    /// An EU VAT id with its country prefix ([`formats::VAT_ID`]).
    pub fn vat_id(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.len() > formats::VAT_ID_MAX || !formats::VAT_ID.matches(v) {
            self.add(
                field,
                "must be an EU VAT id: country prefix and 2 to 12 of A-Z, 0-9, + * . (DE123456789)",
            );
        }
    }

    /// A German tax number ([`formats::TAX_NUMBER`]).
    pub fn tax_number(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.len() > formats::TAX_NUMBER_MAX || !formats::TAX_NUMBER.matches(v) {
            self.add(
                field,
                format!(
                    "must be a tax number: 1 to {} of digits, / - and spaces",
                    formats::TAX_NUMBER_MAX
                ),
            );
        }
    }

    /// A DATEV debtor account ([`formats::DEBTOR_ACCOUNT`]).
    pub fn debtor_account(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if !formats::DEBTOR_ACCOUNT.matches(v) {
            self.add(
                field,
                "must be a debtor account: 5 to 9 digits, the first 1 to 6",
            );
        }
    }

    /// A Leitweg-ID ([`formats::LEITWEG_ID`]).
    pub fn leitweg_id(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        if v.len() > formats::LEITWEG_ID_MAX || !formats::LEITWEG_ID.matches(v) {
            self.add(
                field,
                "must be a Leitweg-ID: 2 to 12 digits, optionally - and 1 to 30 letters or digits, then - and 2 check digits",
            );
        }
    }

    /// A non-negative decimal that fits `numeric(digits + scale, scale)`:
    /// below `10^digits`, at most `scale` fractional digits as written
    /// (`"1.50"` has two), so that nothing out of the column's range
    /// reaches the database.
    pub fn decimal(&mut self, field: &str, value: Option<Decimal>, digits: u32, scale: u32) {
        let Some(v) = value else { return };
        if v.is_sign_negative() {
            self.add(field, "must not be negative");
        } else if v.scale() > scale {
            self.add(field, format!("must have at most {scale} decimal places"));
        } else if v >= Decimal::from(10_i64.pow(digits)) {
            self.add(field, format!("must be less than 1e{digits}"));
        }
    }

    /// A point in time whose UTC date has four digits (years 1 to 9999),
    /// as RFC 3339 writes it back: an offset can carry a `date-time` of
    /// 9999-12-31 into the year 10000. No schema bounds a `date-time`, so
    /// the code says this is a range beyond its format (`out_of_range`).
    pub fn instant(&mut self, field: &str, value: Option<DateTime<Utc>>) {
        let Some(v) = value else { return };
        if !(1..=9999).contains(&v.year()) {
            self.add_code(
                field,
                "out_of_range",
                "must be in the years 1 to 9999 in UTC",
            );
        }
    }

    /// A date of the years 1 to 9999, as `YYYY-MM-DD` writes it (a date
    /// parser may take more than the database keeps).
    pub fn date(&mut self, field: &str, value: Option<NaiveDate>) {
        let Some(v) = value else { return };
        if !(1..=9999).contains(&v.year()) {
            self.add_code(field, "out_of_range", "must be in the years 1 to 9999");
        }
    }

    /// A map of at most `max` entries (ids in other systems, keyed by the
    /// system) whose keys pass `key_ok` (`key_rule` says how) and whose
    /// values are lines of at most `len` characters; errors name
    /// `field.key`.
    pub fn line_map<'a>(
        &mut self,
        field: &str,
        entries: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
        key_ok: impl Fn(&str) -> bool,
        key_rule: &str,
        len: usize,
        max: usize,
    ) {
        if entries.len() > max {
            self.add(field, format!("at most {max} entries"));
        }
        for (key, value) in entries {
            let at = format!("{field}.{key}");
            if !key_ok(key) {
                self.add(&at, key_rule);
            }
            self.text(&at, value, len);
        }
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let mut e = FieldErrors::default();
        e.email("a", Some("ops@example.com"));
        assert!(e.0.is_empty());
        for bad in ["no-at", "a@b", "a b@c.de", "@x.de", "a@.de"] {
            let mut e = FieldErrors::default();
            e.email("a", Some(bad));
            assert_eq!(e.0.len(), 1, "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut e = FieldErrors::default();
        e.length("p", &"ü".repeat(12), 12, 12);
        e.text("n", &"ü".repeat(3), 3);
        e.email("m", Some(&format!("{}@b.de", "ü".repeat(249))));
        assert!(e.0.is_empty(), "{:?}", e.0);
        e.length("p", "ü", 2, 4);
        e.email("m", Some(&format!("{}@b.de", "ü".repeat(250))));
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn decimals_fit_their_column() {
        let mut e = FieldErrors::default();
        e.decimal("m", Some(Decimal::new(12345, 2)), 12, 2);
        e.decimal("m", Some(Decimal::new(9_999_999_999, 2)), 8, 2);
        assert!(e.0.is_empty(), "{:?}", e.0);
        e.decimal("m", Some(Decimal::new(-1, 0)), 12, 2);
        e.decimal("m", Some(Decimal::new(1200, 3)), 12, 2);
        e.decimal("m", Some(Decimal::new(100_000_000, 0)), 8, 2);
        assert_eq!(e.0.len(), 3);
    }

    #[test]
    fn instants_stay_in_four_digit_years() {
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().to_utc());
        let mut e = FieldErrors::default();
        e.instant("a", at("9999-12-31T00:00:00+00:00"));
        e.instant("b", at("0001-01-01T12:00:00+01:00"));
        assert!(e.0.is_empty(), "{:?}", e.0);
        e.instant("c", at("9999-12-31T23:00:00-23:00"));
        e.instant("d", at("0001-01-01T00:00:00+01:00"));
        let codes: Vec<&str> = e.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["out_of_range", "out_of_range"]);
    }

    #[test]
    fn lines_and_prose() {
        let mut e = FieldErrors::default();
        e.text("a", " Acme ", 6);
        e.prose("b", "two\nlines", 9);
        assert!(e.0.is_empty(), "{:?}", e.0);
        e.text("c", "two\nlines", 100);
        e.text("d", "nul\u{0}", 100);
        e.prose("e", "bell\u{7}", 100);
        e.text("f", "\u{3000}", 100);
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["c", "d", "e", "f"]);
        assert_eq!(e.0[3].code, "required");
    }
}
