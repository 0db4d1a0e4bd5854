//! RMM inventory records: what an RMM exports of a device, upserted by
//! (source, external id).

use chrono::{DateTime, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::asset::valid_external_system;

/// The most records one request takes.
pub const RECORDS_MAX: usize = 1000;

/// One device as an RMM reports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryRecord {
    /// The RMM (`ninjarmm`, `datto`, `nable`): 1-32 of a-z, 0-9 and _.
    #[schema(pattern = "^[a-z0-9_]{1,32}$", max_length = 32)]
    pub source: String,
    /// The device's id in the RMM.
    #[schema(schema_with = formats::line::<200>)]
    pub external_id: String,
    /// The customer: its id, or (`customer_ref`) its id in the RMM as the
    /// customer's `external_ids[source]` in the CRM names it.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub customer_ref: Option<String>,
    #[schema(schema_with = formats::line::<253>)]
    pub hostname: String,
    /// An asset type's key; `workstation` when not given.
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<64>)]
    pub device_type: Option<String>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub serial_number: Option<String>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub model: Option<String>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub os_name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The device's user: a contact of the customer with this e-mail.
    #[serde(default)]
    #[schema(schema_with = formats::opt_email)]
    pub assigned_user_email: Option<String>,
}

impl InventoryRecord {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if self.source.contains(':') || !valid_external_system(&self.source) {
            e.add("source", "1-32 characters of a-z, 0-9 and _");
        }
        e.text("external_id", &self.external_id, 200);
        if self.customer_id.is_none() == self.customer_ref.is_none() {
            e.add_code(
                "customer_id",
                "inconsistent",
                "name exactly one of customer_id and customer_ref",
            );
        }
        e.opt_text("customer_ref", self.customer_ref.as_deref(), 200);
        e.text("hostname", &self.hostname, 253);
        e.opt_text("device_type", self.device_type.as_deref(), 64);
        e.opt_text("serial_number", self.serial_number.as_deref(), 100);
        e.opt_text("manufacturer", self.manufacturer.as_deref(), 200);
        e.opt_text("model", self.model.as_deref(), 200);
        e.opt_text("os_name", self.os_name.as_deref(), 200);
        e.opt_text("os_version", self.os_version.as_deref(), 100);
        e.instant("last_seen_at", self.last_seen_at);
        e.email("assigned_user_email", self.assigned_user_email.as_deref());
        e.finish()
    }

    /// A digest of everything but the heartbeat (`last_seen_at`): equal
    /// digests mean the record brings nothing new.
    pub fn fingerprint(&self) -> String {
        let mut r = self.clone();
        r.last_seen_at = None;
        let json = serde_json::to_vec(&r).unwrap_or_default();
        Sha256::digest(json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The request: up to [`RECORDS_MAX`] records.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryBatch {
    #[schema(max_items = 1000, min_items = 1)]
    pub records: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordOutcome {
    /// A new asset.
    Created,
    /// The asset changed (fields a person owns excepted).
    Updated,
    /// Nothing new (a heartbeat at most).
    Unchanged,
    /// Refused; see `errors`.
    Failed,
}

/// What happened to one record, in the order sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordResult {
    pub index: usize,
    pub outcome: RecordOutcome,
    pub asset_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct InventoryReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub results: Vec<RecordResult>,
}

impl InventoryReport {
    pub fn push(&mut self, r: RecordResult) {
        match r.outcome {
            RecordOutcome::Created => self.created += 1,
            RecordOutcome::Updated => self.updated += 1,
            RecordOutcome::Unchanged => self.unchanged += 1,
            RecordOutcome::Failed => self.failed += 1,
        }
        self.results.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: serde_json::Value) -> InventoryRecord {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn heartbeats_do_not_change_the_fingerprint() {
        let a = record(
            json!({"source": "ninja", "external_id": "1", "customer_ref": "org-1",
            "hostname": "pc-1", "last_seen_at": "2026-12-01T08:00:00Z"}),
        );
        let mut b = a.clone();
        b.last_seen_at = Some("2026-12-01T09:00:00Z".parse().unwrap());
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.os_version = Some("10.0.22631".into());
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn a_record_names_its_customer_once() {
        let r = record(json!({"source": "rmm:x", "external_id": "1", "hostname": "pc"}));
        let fields: Vec<String> = r
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["source", "customer_id"]);
    }
}
