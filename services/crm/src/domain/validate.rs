//! Field checks shared by the CRM types. Each pushes a `FieldError` instead
//! of failing fast, so a client sees every problem of a body at once.

use std::collections::BTreeMap;

use psa_http::FieldError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
    }

    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    pub fn email(&mut self, field: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        let ok = v.len() <= 254
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

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case (`DE`, `US`).
    #[schema(example = "DE")]
    pub country: String,
}

impl Address {
    pub fn validate(&self, prefix: &str, e: &mut Errors) {
        e.text(&format!("{prefix}.line1"), &self.line1, 200);
        e.opt_text(&format!("{prefix}.line2"), self.line2.as_deref(), 200);
        e.opt_text(
            &format!("{prefix}.postal_code"),
            self.postal_code.as_deref(),
            20,
        );
        e.text(&format!("{prefix}.city"), &self.city, 100);
        e.opt_text(&format!("{prefix}.region"), self.region.as_deref(), 100);
        if !(self.country.len() == 2 && self.country.chars().all(|c| c.is_ascii_uppercase())) {
            e.add(
                &format!("{prefix}.country"),
                "must be an ISO 3166-1 alpha-2 code such as DE",
            );
        }
    }
}

/// Ids of the same record in other systems, by system (`infexio`).
pub type ExternalIds = BTreeMap<String, String>;

pub fn validate_external_ids(ids: &ExternalIds, e: &mut Errors) {
    for (system, id) in ids {
        let field = format!("external_ids.{system}");
        if !(1..=32).contains(&system.len())
            || !system
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            e.add(&field, "system names are 1-32 characters of a-z, 0-9 and _");
        }
        e.text(&field, id, 200);
    }
}

/// Money and quantities travel as decimal strings (`"1234.50"`), never as
/// JSON numbers, so no float ever touches them.
pub mod decimal_str {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let Some(raw) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let ok = !raw.is_empty()
            && raw
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            && raw.len() <= 30;
        if !ok {
            return Err(serde::de::Error::custom(
                "must be a decimal string such as \"12.50\"",
            ));
        }
        Decimal::from_str(&raw)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("must be a decimal string such as \"12.50\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let mut e = Errors::default();
        e.email("a", Some("ops@example.com"));
        assert!(e.0.is_empty());
        for bad in ["no-at", "a@b", "a b@c.de", "@x.de", "a@.de"] {
            let mut e = Errors::default();
            e.email("a", Some(bad));
            assert_eq!(e.0.len(), 1, "{bad}");
        }
    }

    #[test]
    fn money_scale_and_sign() {
        let mut e = Errors::default();
        e.money("m", Some(Decimal::new(12345, 2)));
        e.money("m", Some(Decimal::new(1200, 3)));
        assert!(e.0.is_empty());
        e.money("m", Some(Decimal::new(-1, 0)));
        e.money("m", Some(Decimal::new(12345, 3)));
        assert_eq!(e.0.len(), 2);
    }

    #[derive(Debug, Deserialize)]
    struct M {
        #[serde(with = "decimal_str", default)]
        v: Option<Decimal>,
    }

    #[test]
    fn decimal_strings_only() {
        let m: M = serde_json::from_str(r#"{"v": "95.50"}"#).unwrap();
        assert_eq!(m.v, Some(Decimal::new(9550, 2)));
        assert!(serde_json::from_str::<M>(r#"{"v": 95.5}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"v": "1e5"}"#).is_err());
        assert!(
            serde_json::from_str::<M>(r#"{"v": null}"#)
                .unwrap()
                .v
                .is_none()
        );
    }
}
