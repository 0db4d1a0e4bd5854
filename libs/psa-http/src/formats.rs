//! Input formats, each stated once: the pattern the OpenAPI document gives
//! a field (`#[schema(schema_with = psa_http::formats::line::<200>)]`) is
//! the pattern [`crate::validate::FieldErrors`] checks it with, so what the
//! document calls valid the server takes, and what it calls invalid the
//! server refuses.
//!
//! The patterns are read by three regex dialects: Rust's `regex` here,
//! ECMA-262 in clients and validators, Python's `re` in contract fuzzers.
//! They use only what the three read alike: explicit character classes
//! with `\xHH` and `\uHHHH` escapes, no `\s`, `\d` or `\w` (whose sets
//! differ between them), no look-around, and they are anchored.

use std::sync::LazyLock;

use regex::Regex;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

/// C0 and C1 control characters (Unicode `Cc`): never part of a line.
macro_rules! control {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}
/// Control characters other than tab, line feed and carriage return.
macro_rules! control_but_breaks {
    () => {
        r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    };
}
/// Unicode `White_Space` outside the controls: what, with the controls,
/// `str::trim` removes (U+0085 and the ASCII ones are controls).
macro_rules! space {
    () => {
        r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// A pattern and its compiled form.
pub struct Format {
    pub pattern: &'static str,
    regex: LazyLock<Regex>,
}

impl Format {
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

macro_rules! pattern {
    ($(#[$doc:meta])* $name:ident = $pattern:expr) => {
        $(#[$doc])*
        pub static $name: Format = Format {
            pattern: $pattern,
            regex: LazyLock::new(|| Regex::new($pattern).expect("a valid pattern")),
        };
    };
}

pattern!(
    /// One line of text with something visible in it: no control
    /// characters, not only white space.
    LINE = concat!("^[", space!(), "]*[^", control!(), space!(), "][^", control!(), "]*$")
);
pattern!(
    /// Text that may run over several lines (tabs and line breaks allowed,
    /// other controls not), with something visible in it.
    PROSE = concat!(
        r"^[\t\n\r",
        space!(),
        "]*[^",
        control!(),
        space!(),
        "][^",
        control_but_breaks!(),
        "]*$"
    )
);
pattern!(
    /// An e-mail address: a local part, `@`, a domain with a dot inside it;
    /// no white space or controls, one `@`.
    EMAIL = concat!(
        "^[^@",
        control!(),
        space!(),
        "]+@[^@.",
        control!(),
        space!(),
        "][^@",
        control!(),
        space!(),
        r"]*\.[^@",
        control!(),
        space!(),
        "]*[^@.",
        control!(),
        space!(),
        "]$"
    )
);
pattern!(
    /// A phone number: 3 to 20 digits among spaces and `+ - ( ) . / x`.
    PHONE = r"^[ +()./x-]*([0-9][ +()./x-]*){3,20}$"
);
pattern!(
    /// An http(s) URL with a host (letters, digits, `-`, `.`, `_` or any
    /// non-ASCII letter), an optional port, then anything visible.
    WEB_URL = concat!(
        r"^[Hh][Tt][Tt][Pp][Ss]?://",
        r"[^\x00-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+",
        r"(:[0-9]{1,5})?([/?#][^",
        control!(),
        space!(),
        "]*)?$"
    )
);
pattern!(
    /// A decimal string: digits without leading zeros, optionally a point
    /// and more digits. Sizes are checked on the number
    /// ([`crate::validate::FieldErrors::decimal`]).
    DECIMAL = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
);

pattern!(
    /// An EU VAT identification number (USt-IdNr.) as EN 16931 carries it
    /// (BT-31, BT-48): the ISO 3166 country prefix, then 2 to 12 upper-case
    /// letters, digits or `+ * .`, no spaces (`DE123456789`).
    VAT_ID = r"^[A-Z]{2}[0-9A-Z+*.]{2,12}$"
);
pattern!(
    /// A German tax number (Steuernummer, BT-32): digits among `/`, spaces
    /// and `-`, at least one digit (`21/815/08150`).
    TAX_NUMBER = r"^[0-9/ -]*[0-9][0-9/ -]*$"
);
pattern!(
    /// A Leitweg-ID, the buyer reference of German public-sector buyers
    /// (XRechnung BT-10): a coarse address of 2 to 12 digits, an optional
    /// fine address of 1 to 30 letters or digits, and 2 check digits, joined
    /// by `-` (`04011000-1234512345-06`).
    LEITWEG_ID = r"^[0-9]{2,12}(-[0-9A-Za-z]{1,30})?-[0-9]{2}$"
);

pattern!(
    /// An IBAN (ISO 13616) as payment instructions carry it (BT-84): the
    /// country, two check digits and 11 to 30 letters or digits, upper
    /// case, no spaces. The check digits are verified on the number.
    IBAN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
);
pattern!(
    /// A BIC (ISO 9362): bank, country and location code, and an optional
    /// branch code, upper case (`COBADEFFXXX`).
    BIC = r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$"
);

pattern!(
    /// A number series format ([`number_format`]).
    NUMBER_FORMAT = concat!(
        r"^([\x21-\x7a\x7c\x7e]|\{(YYYY|YY|MM)\})*",
        r"\{seq(:0([1-9]|1[0-2]))?\}",
        r"([\x21-\x7a\x7c\x7e]|\{(YYYY|YY|MM)\})*$"
    )
);

pattern!(
    /// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
    IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"
);
pattern!(
    /// An `If-Match` value (RFC 9110): `*`, or a comma-separated list of
    /// entity tags (`"3"`, weak ones `W/"3"`).
    IF_MATCH =
        r#"^[ \t]*(\*|(W/)?"[\x21\x23-\x7e]*"([ \t]*,[ \t]*(W/)?"[\x21\x23-\x7e]*")*)[ \t]*$"#
);

pub const PHONE_MAX: usize = 40;
pub const EMAIL_MAX: usize = 254;
pub const URL_MAX: usize = 2000;
/// Longer decimal strings are refused before they are read as numbers.
pub const DECIMAL_MAX: usize = 30;
/// The longest [`VAT_ID`]: a prefix and 12 characters.
pub const VAT_ID_MAX: usize = 14;
pub const TAX_NUMBER_MAX: usize = 30;
pattern!(
    /// A DATEV debtor account (Personenkonto): 5 to 9 digits, 1 to 6 first
    /// (creditors start at 7; one digit more than the ledger's accounts).
    DEBTOR_ACCOUNT = r"^[1-6][0-9]{4,8}$"
);

/// The longest [`LEITWEG_ID`]: 12 + 1 + 30 + 1 + 2 characters.
pub const LEITWEG_ID_MAX: usize = 46;

fn string(pattern: String, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(max))
}

fn nullable(b: ObjectBuilder) -> ObjectBuilder {
    b.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// A [`LINE`] of at most `MAX` characters.
pub fn line<const MAX: usize>() -> ObjectBuilder {
    string(LINE.pattern.into(), MAX)
}
/// [`line`] or `null`.
pub fn opt_line<const MAX: usize>() -> ObjectBuilder {
    nullable(line::<MAX>())
}
/// [`PROSE`] of at most `MAX` characters.
pub fn prose<const MAX: usize>() -> ObjectBuilder {
    string(PROSE.pattern.into(), MAX)
}
/// [`prose`] or `null`.
pub fn opt_prose<const MAX: usize>() -> ObjectBuilder {
    nullable(prose::<MAX>())
}
/// An [`EMAIL`] address. (Not `format: email`: validators read that as
/// RFC 5321, which takes what this refuses and the other way round.)
pub fn email() -> ObjectBuilder {
    string(EMAIL.pattern.into(), EMAIL_MAX).description(Some("An e-mail address"))
}
/// [`email`] or `null`.
pub fn opt_email() -> ObjectBuilder {
    nullable(email())
}
/// A [`PHONE`] number or `null`.
pub fn opt_phone() -> ObjectBuilder {
    nullable(string(PHONE.pattern.into(), PHONE_MAX))
}
/// A [`WEB_URL`] or `null`. (Not `format: uri`: a host such as
/// `müller.de` is no RFC 3986 URI, yet a web address.)
pub fn opt_web_url() -> ObjectBuilder {
    nullable(string(WEB_URL.pattern.into(), URL_MAX).description(Some("An http or https URL")))
}

/// A [`VAT_ID`] or `null`.
pub fn opt_vat_id() -> ObjectBuilder {
    nullable(
        string(VAT_ID.pattern.into(), VAT_ID_MAX)
            .description(Some("An EU VAT id with its country prefix, upper case"))
            .examples(["DE123456789"]),
    )
}
/// A [`TAX_NUMBER`] or `null`.
pub fn opt_tax_number() -> ObjectBuilder {
    nullable(
        string(TAX_NUMBER.pattern.into(), TAX_NUMBER_MAX)
            .description(Some("A German tax number (Steuernummer)"))
            .examples(["21/815/08150"]),
    )
}
/// A [`DEBTOR_ACCOUNT`] or `null`.
pub fn opt_debtor_account() -> ObjectBuilder {
    nullable(
        string(DEBTOR_ACCOUNT.pattern.into(), 9)
            .description(Some("The customer's DATEV debtor account (Personenkonto)"))
            .examples(["10042"]),
    )
}

/// A [`LEITWEG_ID`] or `null`.
pub fn opt_leitweg_id() -> ObjectBuilder {
    nullable(
        string(LEITWEG_ID.pattern.into(), LEITWEG_ID_MAX)
            .description(Some("A Leitweg-ID (XRechnung buyer reference, BT-10)"))
            .examples(["04011000-1234512345-06"]),
    )
}

/// Reads an optional query parameter that must be a [`LINE`] of at most
/// `MAX` characters (`#[serde(default, deserialize_with =
/// "formats::query_line::<_, 200>")]`, documented with [`line`]): a filter
/// that does not fit is a 400, never a value the database chokes on.
pub fn query_line<'de, D, const MAX: usize>(d: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let Some(value) = <Option<String> as serde::Deserialize>::deserialize(d)? else {
        return Ok(None);
    };
    if value.chars().count() > MAX || !LINE.matches(&value) {
        return Err(serde::de::Error::custom(format!(
            "must be 1 to {MAX} characters of text on one line"
        )));
    }
    Ok(Some(value))
}

/// The pattern of a decimal below `10^DIGITS` with at most `SCALE`
/// fractional digits, as a string.
fn decimal_pattern(digits: usize, scale: usize) -> String {
    let fraction = if scale == 0 {
        String::new()
    } else {
        format!(r"(\.[0-9]{{1,{scale}}})?")
    };
    format!(
        "^(0|[1-9][0-9]{{0,{}}}){fraction}$",
        digits.saturating_sub(1)
    )
}

/// Like [`decimal_pattern`], above zero: `"0.5"` and `"12"`, not `"0"` or
/// `"0.00"` (the first non-zero digit of a fraction at each of its places).
fn positive_decimal_pattern(digits: usize, scale: usize) -> String {
    let whole = if scale == 0 {
        format!("[1-9][0-9]{{0,{}}}", digits.saturating_sub(1))
    } else {
        format!(
            r"[1-9][0-9]{{0,{}}}(\.[0-9]{{1,{scale}}})?",
            digits.saturating_sub(1)
        )
    };
    let fractions: Vec<String> = (0..scale)
        .map(|zeros| format!("0{{{zeros}}}[1-9][0-9]{{0,{}}}", scale - 1 - zeros))
        .collect();
    if fractions.is_empty() {
        format!("^{whole}$")
    } else {
        format!(r"^({whole}|0\.({}))$", fractions.join("|"))
    }
}

/// A decimal string above zero that fits `numeric(DIGITS + SCALE, SCALE)`
/// (a quantity).
pub fn positive_decimal<const DIGITS: usize, const SCALE: usize>() -> ObjectBuilder {
    string(positive_decimal_pattern(DIGITS, SCALE), DECIMAL_MAX)
}

/// [`positive_decimal`] or `null`.
pub fn opt_positive_decimal<const DIGITS: usize, const SCALE: usize>() -> ObjectBuilder {
    nullable(positive_decimal::<DIGITS, SCALE>())
}

/// A number series format: text of visible ASCII without braces, the
/// placeholders `{YYYY}`, `{YY}`, `{MM}` anywhere and `{seq}` or `{seq:0N}`
/// (N from 1 to 12) exactly once (`RE-{YYYY}-{seq:05}`).
pub fn number_format() -> ObjectBuilder {
    string(NUMBER_FORMAT.pattern.into(), 60).examples(["RE-{YYYY}-{seq:05}"])
}

/// A decimal string (`"1234.50"`) that fits `numeric(DIGITS + SCALE, SCALE)`.
pub fn decimal<const DIGITS: usize, const SCALE: usize>() -> ObjectBuilder {
    string(decimal_pattern(DIGITS, SCALE), DECIMAL_MAX)
}

/// An [`IBAN`] or `null`.
pub fn opt_iban() -> ObjectBuilder {
    nullable(string(IBAN.pattern.into(), 34).examples(["DE02120300000000202051"]))
}

/// A [`BIC`] or `null`.
pub fn opt_bic() -> ObjectBuilder {
    nullable(string(BIC.pattern.into(), 11).examples(["BYLADEM1001"]))
}

/// A decimal string (`"1234.50"`) that fits `numeric(DIGITS + SCALE,
/// SCALE)`, or `null`.
pub fn opt_decimal<const DIGITS: usize, const SCALE: usize>() -> ObjectBuilder {
    nullable(string(decimal_pattern(DIGITS, SCALE), DECIMAL_MAX))
}

/// Distinct [`LINE`]s of at most `LEN` characters, at most `ITEMS` of them.
pub fn lines<const ITEMS: usize, const LEN: usize>() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(line::<LEN>())
        .max_items(Some(ITEMS))
        .unique_items(true)
}

/// The schema of a string-keyed map whose keys match `key` and whose values
/// are [`LINE`]s of at most `len` characters, at most `max` entries.
pub fn line_map(key: &str, len: usize, max: usize) -> RefOr<Schema> {
    string_map(key, LINE.pattern, len, max)
}

/// An object of at most `max` entries whose keys match `key` and whose
/// values are strings of at most `len` characters matching `value`.
pub fn string_map(key: &str, value: &str, len: usize, max: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(key)),
        ))
        .additional_properties(Some(string(value.into(), len)))
        .max_properties(Some(max))
        .into()
}

#[cfg(test)]
mod tests;
