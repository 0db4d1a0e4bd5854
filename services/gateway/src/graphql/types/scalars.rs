//! The scalars: values kept exactly as `/v1` writes them (a GraphQL answer
//! equals the REST one), checked when they come in as arguments.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use serde::{Deserialize, Serialize};

/// An RFC 3339 time in UTC, as `/v1` writes it (`2026-12-01T09:30:00Z`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DateTime(pub String);

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                Ok(Self(s.clone()))
            }
            _ => Err(InputValueError::custom("an RFC 3339 time is expected")),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Date(pub String);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {
                Ok(Self(s.clone()))
            }
            _ => Err(InputValueError::custom("a date YYYY-MM-DD is expected")),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A decimal number as a string (`"1234.50"`): money is never a float.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Decimal(pub String);

/// `-?digits(.digits)?`, as `/v1` writes decimals.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.len() <= 28
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if is_decimal(s) => Ok(Self(s.clone())),
            _ => Err(InputValueError::custom(
                "a decimal number as a string is expected (\"1234.50\")",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// An amount and its ISO 4217 currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 (`EUR`); null where the record names none.
    pub currency: Option<String>,
}

impl Money {
    pub fn of(amount: &Option<Decimal>, currency: &Option<String>) -> Option<Money> {
        amount.as_ref().map(|a| Money {
            amount: a.clone(),
            currency: currency.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_strings_of_digits() {
        for ok in ["0", "1234.50", "-3.1", "100"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "1.", ".5", "1e3", "NaN", "1,5", "--1", "12.3.4"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn scalars_refuse_what_they_do_not_carry() {
        assert!(
            <DateTime as ScalarType>::parse(Value::String("2026-12-01T09:30:00Z".into())).is_ok()
        );
        assert!(<DateTime as ScalarType>::parse(Value::String("yesterday".into())).is_err());
        assert!(<Date as ScalarType>::parse(Value::String("2026-02-30".into())).is_err());
        assert!(<Decimal as ScalarType>::parse(Value::Number(1.into())).is_err());
    }
}
