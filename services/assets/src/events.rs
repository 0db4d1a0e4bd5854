//! What the assets module publishes: one typed event type per change, whose
//! `data` is the resource as GET returns it (the watch's events carry the
//! item inside). And what it consumes: CRM's customers, contacts and sites,
//! kept in a projection so that assets are recorded and inventory imported
//! while CRM is down.

use psa_events::catalog::{EventSpec, EventType, Lifecycle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::watch::{AssetEol, LicenseExpiring};
use crate::domain::{Asset, AssetType, Assignment, License};
use crate::repo;

pub const ASSET_CREATED: EventType<Asset> = EventType::new(
    "asset.created",
    "An asset was recorded (by hand or from RMM inventory).",
);
pub const ASSET_UPDATED: EventType<Asset> = EventType::new(
    "asset.updated",
    "An asset was changed (not for a heartbeat: a record that only moves last_seen_at).",
);
pub const ASSET_DELETED: EventType<Asset> = EventType::new(
    "asset.deleted",
    "An asset was deleted; data is the asset as it was.",
);
pub const ASSET_EOL: EventType<AssetEol> = EventType::new(
    "asset.eol",
    "An asset's warranty end or end of life crossed one of the tenant's thresholds (days before; 0 the day itself); published once per asset, kind, threshold and date.",
);
pub const ASSET_TYPE_CREATED: EventType<AssetType> = EventType::new(
    "asset_type.created",
    "An asset type was added to the tenant's catalogue.",
);
pub const ASSET_TYPE_UPDATED: EventType<AssetType> = EventType::new(
    "asset_type.updated",
    "An asset type's name or fields changed.",
);
pub const ASSET_TYPE_DELETED: EventType<AssetType> = EventType::new(
    "asset_type.deleted",
    "An asset type was removed from the catalogue; data is the type as it was.",
);
pub const LICENSE_CREATED: EventType<License> =
    EventType::new("license.created", "A license was recorded.");
pub const LICENSE_UPDATED: EventType<License> = EventType::new(
    "license.updated",
    "A license was changed (also when a seat was assigned or released).",
);
pub const LICENSE_DELETED: EventType<License> = EventType::new(
    "license.deleted",
    "A license was deleted; data is the license as it was.",
);
pub const LICENSE_SEAT_ASSIGNED: EventType<SeatChange> = EventType::new(
    "license.seat_assigned",
    "A seat of a license was given to an asset or contact; data has the assignment and the license after it.",
);
pub const LICENSE_SEAT_RELEASED: EventType<SeatChange> = EventType::new(
    "license.seat_released",
    "A seat of a license was freed; data has the assignment as it was and the license after it.",
);
pub const LICENSE_EXPIRING: EventType<LicenseExpiring> = EventType::new(
    "license.expiring",
    "A license's expiry crossed one of the tenant's thresholds; published once per license, threshold and date.",
);
pub const LICENSE_KEY_REVEALED: EventType<KeyRevealed> = EventType::new(
    "license.key_revealed",
    "Someone read a license's key (the key is not in the event).",
);

/// `license.key_revealed`: who read which license's key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyRevealed {
    pub license_id: Uuid,
    pub subject: String,
    pub client_id: Option<String>,
}

/// An assignment as events name it, with its license after the change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeatChange {
    pub assignment: Assignment,
    pub license: License,
}

/// The asset's lifecycle, as consumers (tickets, sync) read it.
pub const ASSET: Lifecycle<Asset> = Lifecycle {
    created: ASSET_CREATED,
    updated: ASSET_UPDATED,
    deleted: ASSET_DELETED,
};

/// Every event type the assets module publishes, for the registry.
pub const PUBLISHES: &[EventSpec] = &[
    ASSET_CREATED.spec(),
    ASSET_UPDATED.spec(),
    ASSET_DELETED.spec(),
    ASSET_EOL.spec(),
    ASSET_TYPE_CREATED.spec(),
    ASSET_TYPE_UPDATED.spec(),
    ASSET_TYPE_DELETED.spec(),
    LICENSE_CREATED.spec(),
    LICENSE_UPDATED.spec(),
    LICENSE_DELETED.spec(),
    LICENSE_SEAT_ASSIGNED.spec(),
    LICENSE_SEAT_RELEASED.spec(),
    LICENSE_EXPIRING.spec(),
    LICENSE_KEY_REVEALED.spec(),
];

/// What the projection binds.
pub const CONSUMES: &[&str] = &["customer.*", "contact.*", "site.*"];

/// Applies a CRM event to the projection; older versions than the ones
/// kept are ignored, and so are other event types.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    use psa_crm::events::{CONTACT, CUSTOMER, SITE};
    let decode_error = |e: serde_json::Error| format!("{event_type}: {e}");
    let result = if let Some(customer) = CUSTOMER.decode(event_type, data) {
        let (customer, deleted) = customer.map_err(decode_error)?;
        repo::projection::upsert_customer(conn, &customer, deleted).await
    } else if let Some(contact) = CONTACT.decode(event_type, data) {
        let (contact, deleted) = contact.map_err(decode_error)?;
        repo::projection::upsert_contact(conn, &contact, deleted).await
    } else if let Some(site) = SITE.decode(event_type, data) {
        let (site, deleted) = site.map_err(decode_error)?;
        repo::projection::upsert_site(conn, &site, deleted).await
    } else {
        return Ok(());
    };
    result.map_err(|e| e.to_string())
}
