//! CRM value types shared by several resources (addresses, external ids,
//! decimal strings) and their checks, on top of `psa_http::validate`.

use std::collections::BTreeMap;

use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// The code of a field that does not fit the others (a rule across
/// fields, which no schema of one field states).
pub const INCONSISTENT: &str = "inconsistent";

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(schema_with = formats::line::<200>)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<20>)]
    pub postal_code: Option<String>,
    #[schema(schema_with = formats::line::<100>)]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case (`DE`, `US`).
    #[schema(example = "DE", pattern = "^[A-Z]{2}$")]
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

/// At most this many systems per record.
pub const EXTERNAL_IDS_MAX: usize = 20;
const SYSTEM: &str = "^[a-z0-9_]{1,32}$";

/// The schema of [`ExternalIds`] as [`validate_external_ids`] checks them.
pub fn external_ids_schema() -> RefOr<Schema> {
    formats::line_map(SYSTEM, EXTERNAL_ID_MAX, EXTERNAL_IDS_MAX)
}

/// A system's name in [`ExternalIds`]: `SYSTEM`.
pub fn valid_system(system: &str) -> bool {
    (1..=32).contains(&system.len())
        && system
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An id in another system as a filter names it: a line (no longer than
/// the filter, [`external_id_ref_schema`]; a stored one is at most
/// `EXTERNAL_ID_MAX` characters).
pub fn valid_external_id(id: &str) -> bool {
    formats::LINE.matches(id)
}

/// The longest `system:id` a filter takes.
pub const EXTERNAL_ID_REF_MAX: usize = 33 + EXTERNAL_ID_MAX;

const EXTERNAL_ID_MAX: usize = 200;

/// `system:id`, as the customer list's `external_id` filter takes it.
pub fn external_id_ref_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^[a-z0-9_]{{1,32}}:{}",
            formats::LINE.pattern.trim_start_matches('^')
        )))
        .max_length(Some(EXTERNAL_ID_REF_MAX))
}

pub fn validate_external_ids(ids: &ExternalIds, e: &mut FieldErrors) {
    e.line_map(
        "external_ids",
        ids.iter(),
        valid_system,
        "system names are 1-32 characters of a-z, 0-9 and _",
        EXTERNAL_ID_MAX,
        EXTERNAL_IDS_MAX,
    );
}

/// An IANA time zone name (`Europe/Berlin`): one chrono-tz knows, as
/// [`valid_time_zone`] checks it.
pub struct TimeZone;

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name"))
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .into()
    }
}

impl ToSchema for TimeZone {}

pub fn valid_time_zone(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}
