//! CRM value types shared by several resources (addresses, external ids,
//! decimal strings) and their checks, on top of `psa_http::validate`.

use std::collections::BTreeMap;

use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    pub fn validate(&self, prefix: &str, e: &mut FieldErrors) {
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

pub fn validate_external_ids(ids: &ExternalIds, e: &mut FieldErrors) {
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
    use rust_decimal::Decimal;

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
