//! A tenant's catalogue of asset types, each with the custom fields its
//! assets carry.

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

/// The types a tenant starts with: (key, name).
pub const DEFAULT_TYPES: &[(&str, &str)] = &[
    ("workstation", "Workstation"),
    ("laptop", "Laptop"),
    ("server", "Server"),
    ("virtual_machine", "Virtual machine"),
    ("firewall", "Firewall"),
    ("switch", "Switch"),
    ("router", "Router"),
    ("access_point", "Wireless access point"),
    ("printer", "Printer"),
    ("storage", "Storage"),
    ("phone", "Phone"),
    ("cloud_tenant", "Cloud tenant"),
    ("other", "Other"),
];

/// The most fields one type defines.
pub const FIELDS_MAX: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Integer,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// One of `options`.
    Select,
}

/// One custom field of a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The key in an asset's `custom_fields`: 1-64 of a-z, 0-9 and _.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub key: String,
    #[schema(schema_with = formats::line::<100>)]
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = formats::lines::<100, 100>)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct AssetType {
    pub id: Uuid,
    /// What assets name in `type`; fixed once created.
    pub key: String,
    pub name: String,
    #[schema(value_type = Vec<FieldDef>)]
    pub fields: Json<Vec<FieldDef>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetTypeInput {
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", max_length = 64)]
    pub key: String,
    #[schema(schema_with = formats::line::<100>)]
    pub name: String,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub fields: Vec<FieldDef>,
}

fn valid_key(k: &str) -> bool {
    (1..=64).contains(&k.len())
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl AssetTypeInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if !valid_key(&self.key) {
            e.add(
                "key",
                "1-64 characters of a-z, 0-9 and _, starting with a letter",
            );
        }
        e.text("name", &self.name, 100);
        if self.fields.len() > FIELDS_MAX {
            e.add("fields", format!("at most {FIELDS_MAX} fields"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let at = |name: &str| format!("fields[{i}].{name}");
            if !valid_key(&f.key) {
                e.add(
                    &at("key"),
                    "1-64 characters of a-z, 0-9 and _, starting with a letter",
                );
            } else if !seen.insert(f.key.as_str()) {
                e.add_code(&at("key"), "duplicate", "another field has this key");
            }
            e.text(&at("label"), &f.label, 100);
            match (f.kind, f.options.is_empty()) {
                (FieldKind::Select, true) => e.add_code(
                    &at("options"),
                    "inconsistent",
                    "a select field needs options",
                ),
                (FieldKind::Select, false) => {
                    for (j, o) in f.options.iter().enumerate() {
                        e.text(&format!("fields[{i}].options[{j}]"), o, 100);
                    }
                }
                (_, false) => e.add_code(
                    &at("options"),
                    "inconsistent",
                    "only select fields have options",
                ),
                _ => {}
            }
        }
        e.finish()
    }
}

impl From<&AssetType> for AssetTypeInput {
    fn from(t: &AssetType) -> Self {
        Self {
            key: t.key.clone(),
            name: t.name.clone(),
            fields: t.fields.0.clone(),
        }
    }
}

/// Checks an asset's custom field values against its type's fields: each
/// known, of its type, the required ones present. Errors name
/// `custom_fields.<key>`.
pub fn check_values(fields: &[FieldDef], values: &Map<String, Value>) -> Vec<FieldError> {
    let mut e = FieldErrors::default();
    for (key, value) in values {
        let at = format!("custom_fields.{key}");
        let Some(def) = fields.iter().find(|f| &f.key == key) else {
            e.add_code(&at, "unknown_field", "the asset's type has no such field");
            continue;
        };
        if value.is_null() {
            if def.required {
                e.add_code(&at, "missing", "required by the asset's type");
            }
            continue;
        }
        let ok = match def.kind {
            FieldKind::Text => value
                .as_str()
                .is_some_and(|s| s.chars().count() <= 2000 && formats::PROSE.matches(s)),
            FieldKind::Number => value.as_f64().is_some_and(f64::is_finite) && value.is_number(),
            FieldKind::Integer => value.is_i64(),
            FieldKind::Boolean => value.is_boolean(),
            FieldKind::Date => value
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .is_some(),
            FieldKind::Select => value
                .as_str()
                .is_some_and(|s| def.options.iter().any(|o| o == s)),
        };
        if !ok {
            let expected = match def.kind {
                FieldKind::Text => "text of at most 2000 characters".to_owned(),
                FieldKind::Number => "a number".to_owned(),
                FieldKind::Integer => "an integer".to_owned(),
                FieldKind::Boolean => "true or false".to_owned(),
                FieldKind::Date => "a date (YYYY-MM-DD)".to_owned(),
                FieldKind::Select => format!("one of: {}", def.options.join(", ")),
            };
            e.add(&at, format!("must be {expected}"));
        }
    }
    for def in fields.iter().filter(|f| f.required) {
        if !values.contains_key(&def.key) {
            e.add_code(
                &format!("custom_fields.{}", def.key),
                "missing",
                "required by the asset's type",
            );
        }
    }
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<FieldDef> {
        serde_json::from_value(json!([
            {"key": "cpu_cores", "label": "CPU cores", "type": "integer", "required": true},
            {"key": "ram_gb", "label": "RAM (GB)", "type": "number"},
            {"key": "backup", "label": "Backed up", "type": "boolean"},
            {"key": "tier", "label": "Tier", "type": "select", "options": ["gold", "silver"]},
            {"key": "installed", "label": "Installed", "type": "date"}
        ]))
        .unwrap()
    }

    fn errors(values: Value) -> Vec<(String, String)> {
        check_values(&fields(), values.as_object().unwrap())
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn values_are_checked_against_the_type() {
        assert!(
            errors(
                json!({"cpu_cores": 8, "ram_gb": 15.5, "backup": true, "tier": "gold",
                "installed": "2026-01-31"})
            )
            .is_empty()
        );
        let e = errors(
            json!({"ram_gb": "16", "tier": "bronze", "installed": "2026-02-30",
            "colour": "red", "cpu_cores": 2.5}),
        );
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "custom_fields.colour",
                "custom_fields.cpu_cores",
                "custom_fields.installed",
                "custom_fields.ram_gb",
                "custom_fields.tier"
            ]
        );
        assert_eq!(e[0].1, "unknown_field");
        assert_eq!(
            errors(json!({})),
            [("custom_fields.cpu_cores".to_owned(), "missing".to_owned())]
        );
    }

    #[test]
    fn type_definitions_are_checked() {
        let t: AssetTypeInput = serde_json::from_value(json!({"key": "nas", "name": "NAS",
            "fields": [{"key": "bays", "label": "Bays", "type": "integer"},
                       {"key": "bays", "label": "Again", "type": "text"},
                       {"key": "raid", "label": "RAID", "type": "select"},
                       {"key": "note", "label": "Note", "type": "text", "options": ["x"]}]}))
        .unwrap();
        let fields: Vec<String> = t
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["fields[1].key", "fields[2].options", "fields[3].options"]
        );
    }
}
