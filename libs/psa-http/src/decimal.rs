//! Money and other decimals in JSON: always a string (`"1234.50"`), never a
//! number (a float would lose cents). Reading takes only what
//! [`crate::formats::DECIMAL`] describes, so `"1e3"`, `" 1"` or a JSON
//! number are refused with the field named; sizes are checked on the value
//! ([`crate::validate::FieldErrors::decimal`]).
//!
//! `#[serde(with = "psa_http::decimal::string")]` for a `Decimal`,
//! `#[serde(default, with = "psa_http::decimal::opt_string")]` for an
//! `Option<Decimal>`.

use std::str::FromStr;

use rust_decimal::Decimal;

const EXPECTED: &str = "must be a decimal string such as \"12.50\"";

fn parse<E: serde::de::Error>(raw: &str) -> Result<Decimal, E> {
    if raw.len() > crate::formats::DECIMAL_MAX || !crate::formats::DECIMAL.matches(raw) {
        return Err(E::custom(EXPECTED));
    }
    Decimal::from_str(raw).map_err(|_| E::custom(EXPECTED))
}

pub mod string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        super::parse(&String::deserialize(d)?)
    }
}

pub mod opt_string {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|raw| super::parse(&raw))
            .transpose()
    }
}

/// Writes an amount with exactly two decimal places (`"0.00"`, `"19.00"`),
/// whatever scale the value carries (a database zero comes back as `0`):
/// `#[serde(serialize_with = "psa_http::decimal::two_places")]`.
pub fn two_places<S: serde::Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let mut v = v.round_dp(2);
    v.rescale(2);
    s.serialize_str(&v.to_string())
}

/// [`two_places`] for an optional amount.
pub fn opt_two_places<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => two_places(v, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Amounts {
        #[serde(with = "super::string")]
        net: Decimal,
        #[serde(default, with = "super::opt_string")]
        rate: Option<Decimal>,
    }

    #[derive(serde::Serialize)]
    struct Out {
        #[serde(serialize_with = "super::two_places")]
        v: Decimal,
        #[serde(serialize_with = "super::opt_two_places")]
        w: Option<Decimal>,
    }

    #[test]
    fn only_decimal_strings_are_read_and_amounts_have_two_places() {
        let a: Amounts = serde_json::from_str(r#"{"net": "1234.50", "rate": null}"#).unwrap();
        assert_eq!(a.net.to_string(), "1234.50");
        assert!(a.rate.is_none());
        let out = serde_json::to_value(Out {
            v: Decimal::ZERO,
            w: Some(Decimal::new(19, 0)),
        })
        .unwrap();
        assert_eq!(out, serde_json::json!({"v": "0.00", "w": "19.00"}));
        for bad in [
            r#"{"net": 1234.5}"#,
            r#"{"net": "1e3"}"#,
            r#"{"net": "-1"}"#,
            r#"{"net": " 1"}"#,
        ] {
            assert!(serde_json::from_str::<Amounts>(bad).is_err(), "{bad}");
        }
    }
}
