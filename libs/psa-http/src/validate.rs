//! Field checks that collect every problem of a request body (instead of
//! failing at the first), answered as one 422 problem with `errors[]`.

use rust_decimal::Decimal;

use crate::FieldError;

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

    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add_code(field, "required", "must not be empty");
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

    pub fn email(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        let ok = v.chars().count() <= 254
            && !v.chars().any(char::is_whitespace)
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if !ok {
            self.add(field, "must be an e-mail address");
        }
    }

    pub fn phone(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let ok = v.len() <= 40
            && (3..=20).contains(&digits)
            && v.chars()
                .all(|c| c.is_ascii_digit() || " +-()./x".contains(c));
        if !ok {
            self.add(
                field,
                "must be a phone number (digits, spaces, + - ( ) . / x)",
            );
        }
    }

    pub fn url(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        match url::Url::parse(v) {
            Ok(u)
                if (u.scheme() == "https" || u.scheme() == "http")
                    && u.host().is_some()
                    && v.len() <= 2000 => {}
            _ => self.add(field, "must be an http or https URL"),
        }
    }

    pub fn money(&mut self, field: &str, value: Option<Decimal>) {
        let Some(v) = value else { return };
        if v.is_sign_negative() {
            self.add(field, "must not be negative");
        } else if v.normalize().scale() > 2 {
            self.add(field, "must have at most 2 decimal places");
        } else if v >= Decimal::from(1_000_000_000_000i64) {
            self.add(field, "is too large");
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
    fn money_scale_and_sign() {
        let mut e = FieldErrors::default();
        e.money("m", Some(Decimal::new(12345, 2)));
        e.money("m", Some(Decimal::new(1200, 3)));
        assert!(e.0.is_empty());
        e.money("m", Some(Decimal::new(-1, 0)));
        e.money("m", Some(Decimal::new(12345, 3)));
        assert_eq!(e.0.len(), 2);
    }
}
