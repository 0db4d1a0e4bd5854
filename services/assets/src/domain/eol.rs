//! End-of-life data: a snapshot of endoflife.date's product cycles, and how
//! an asset's operating system or model finds its cycle.

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The snapshot shipped with the platform (refreshed by `psa assets
/// import-eol <file>`).
pub const SHIPPED: &str = include_str!("../../data/endoflife.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: String,
    pub as_of: NaiveDate,
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    /// endoflife.date's product name (`windows-server`).
    pub product: String,
    pub label: String,
    /// Lowercase beginnings of OS or model names that identify the product.
    #[serde(default)]
    pub r#match: Vec<String>,
    pub cycles: Vec<Cycle>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cycle {
    pub cycle: String,
    #[serde(default)]
    pub release_date: Option<NaiveDate>,
    pub eol: NaiveDate,
    #[serde(default)]
    pub support: Option<NaiveDate>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not an end-of-life snapshot: {0}")]
    Format(#[from] serde_json::Error),
    #[error("product {0}: {1}")]
    Invalid(String, &'static str),
}

impl Snapshot {
    pub fn parse(text: &str) -> Result<Self, SnapshotError> {
        let s: Snapshot = serde_json::from_str(text)?;
        for p in &s.products {
            let bad = |why| SnapshotError::Invalid(p.product.clone(), why);
            if p.product.is_empty() || p.product.len() > 100 {
                return Err(bad("a product is named in 1 to 100 characters"));
            }
            if p.cycles
                .iter()
                .any(|c| c.cycle.is_empty() || c.cycle.len() > 100)
            {
                return Err(bad("a cycle is named in 1 to 100 characters"));
            }
        }
        Ok(s)
    }

    pub fn shipped() -> Self {
        Self::parse(SHIPPED).unwrap_or_else(|e| unreachable!("the shipped snapshot parses: {e}"))
    }
}

/// Lowercase words of a name or version, split at anything that is not a
/// letter, digit or dot (`"Windows Server 2012 R2"` → `windows server 2012
/// r2`).
fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `cycle` is named by the name's words or the version: `22.04`
/// matches version `22.04.3`, `2012-r2` matches the words `2012 r2`, `12`
/// matches version `12.5` but not `120`.
fn cycle_matches(cycle: &str, name_words: &[String], version: &str) -> bool {
    let cycle_words = words(&cycle.replace('-', " "));
    if cycle_words.is_empty() {
        return false;
    }
    let in_name = name_words
        .windows(cycle_words.len())
        .any(|w| w == cycle_words.as_slice());
    let version = version.trim().to_lowercase();
    let in_version = cycle_words.len() == 1
        && (version == cycle_words[0] || version.starts_with(&format!("{}.", cycle_words[0])));
    in_name || in_version
}

/// The product and cycle an operating system (or model) name and version
/// belong to: the product whose `match` begins the name, then its cycle
/// named by the most words (so `2012-r2` wins over `2012`).
pub fn find<'a>(
    products: &'a [Product],
    name: &str,
    version: Option<&str>,
) -> Option<(&'a Product, &'a Cycle)> {
    let lower = name.trim().to_lowercase();
    let name_words = words(&lower);
    let version = version.unwrap_or("");
    products
        .iter()
        .filter(|p| p.r#match.iter().any(|m| lower.starts_with(m.as_str())))
        .flat_map(|p| {
            let rest = p
                .r#match
                .iter()
                .filter(|m| lower.starts_with(m.as_str()))
                .map(|m| words(&lower[m.len()..]))
                .max_by_key(Vec::len)
                .unwrap_or_else(|| name_words.clone());
            p.cycles
                .iter()
                .filter(move |c| cycle_matches(&c.cycle, &rest, version))
                .map(move |c| (p, c))
        })
        .max_by_key(|(_, c)| words(&c.cycle.replace('-', " ")).len())
}

/// How an asset records a date filled from the snapshot.
pub fn source_of(product: &str, cycle: &str) -> String {
    format!("endoflife.date:{product}/{cycle}")
}

/// A tenant's mapping of a manufacturer's model to a product cycle: its
/// assets of that model without an end of life get the cycle's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct EolMapping {
    pub id: Uuid,
    pub manufacturer: String,
    pub model: String,
    pub product: String,
    pub cycle: String,
    /// The cycle's end of life in the snapshot.
    pub eol: NaiveDate,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EolMappingInput {
    #[schema(schema_with = formats::line::<200>)]
    pub manufacturer: String,
    #[schema(schema_with = formats::line::<200>)]
    pub model: String,
    /// A product of `GET /v1/eol-products` (`windows-server`).
    #[schema(schema_with = formats::line::<100>)]
    pub product: String,
    /// One of the product's cycles (`2019`).
    #[schema(schema_with = formats::line::<100>)]
    pub cycle: String,
}

impl EolMappingInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("manufacturer", &self.manufacturer, 200);
        e.text("model", &self.model, 200);
        e.text("product", &self.product, 100);
        e.text("cycle", &self.cycle, 100);
        e.finish()
    }
}

/// A product of the snapshot as the API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EolProduct {
    pub product: String,
    pub label: String,
    pub cycles: Vec<EolCycle>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EolCycle {
    pub cycle: String,
    pub release_date: Option<NaiveDate>,
    /// End of security support.
    pub eol: NaiveDate,
    /// End of active support, where the product has one.
    pub support: Option<NaiveDate>,
}

/// The snapshot the platform holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EolCatalog {
    pub source: Option<String>,
    pub as_of: Option<NaiveDate>,
    pub products: Vec<EolProduct>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products() -> Vec<Product> {
        serde_json::from_value(serde_json::json!([
            {"product": "windows-server", "label": "Windows Server",
             "match": ["windows server", "microsoft windows server"],
             "cycles": [{"cycle": "2012", "eol": "2023-10-10"},
                        {"cycle": "2012-r2", "eol": "2023-10-10"},
                        {"cycle": "2019", "eol": "2029-01-09"}]},
            {"product": "ubuntu", "label": "Ubuntu", "match": ["ubuntu"],
             "cycles": [{"cycle": "22.04", "eol": "2027-06-01"}, {"cycle": "24.04", "eol": "2029-05-31"}]},
            {"product": "debian", "label": "Debian", "match": ["debian"],
             "cycles": [{"cycle": "12", "eol": "2026-06-10"}, {"cycle": "1", "eol": "1997-06-01"}]}
        ]))
        .unwrap()
    }

    fn found(name: &str, version: Option<&str>) -> Option<String> {
        let p = products();
        find(&p, name, version).map(|(p, c)| format!("{}/{}", p.product, c.cycle))
    }

    #[test]
    fn operating_systems_find_their_cycle() {
        assert_eq!(
            found("Microsoft Windows Server 2019 Standard", Some("10.0.17763")).as_deref(),
            Some("windows-server/2019")
        );
        assert_eq!(
            found("Windows Server 2012 R2 Datacenter", None).as_deref(),
            Some("windows-server/2012-r2")
        );
        assert_eq!(
            found("Ubuntu", Some("22.04.3 LTS")).as_deref(),
            Some("ubuntu/22.04")
        );
        assert_eq!(
            found("Ubuntu 24.04 LTS", None).as_deref(),
            Some("ubuntu/24.04")
        );
        assert_eq!(
            found("Debian GNU/Linux", Some("12.5")).as_deref(),
            Some("debian/12")
        );
        assert_eq!(found("Debian GNU/Linux", Some("120")), None);
        assert_eq!(found("Windows 11 Pro", Some("10.0.22631")), None);
        assert_eq!(found("Ubuntu", Some("18.04")), None);
    }

    #[test]
    fn the_shipped_snapshot_parses() {
        let s = Snapshot::shipped();
        assert!(s.products.len() >= 8, "{} products", s.products.len());
        assert!(s.products.iter().any(|p| p.product == "windows-server"));
    }
}
