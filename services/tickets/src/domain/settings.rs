//! A tenant's ticket settings: whether the assets module's end-of-life and
//! warranty notices open tickets, and how.

use chrono::{DateTime, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ticket::{NewTicket, Priority, TicketType};
use psa_assets::domain::watch::{AssetEol, EolKind};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct TicketSettings {
    /// Whether an `asset.eol` notice opens a ticket for the asset's
    /// customer (one per asset, kind, threshold and date).
    pub open_tickets_for_asset_eol: bool,
    /// The priority of those tickets.
    pub asset_eol_priority: Priority,
    /// Their queue, if any.
    pub asset_eol_queue: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketSettingsInput {
    pub open_tickets_for_asset_eol: bool,
    pub asset_eol_priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<100>)]
    pub asset_eol_queue: Option<String>,
}

impl TicketSettingsInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.opt_text("asset_eol_queue", self.asset_eol_queue.as_deref(), 100);
        e.finish()
    }
}

impl From<&TicketSettings> for TicketSettingsInput {
    fn from(s: &TicketSettings) -> Self {
        Self {
            open_tickets_for_asset_eol: s.open_tickets_for_asset_eol,
            asset_eol_priority: s.asset_eol_priority,
            asset_eol_queue: s.asset_eol_queue.clone(),
        }
    }
}

/// The ticket an end-of-life or warranty notice opens.
pub fn eol_ticket(notice: &AssetEol, settings: &TicketSettings) -> NewTicket {
    let a = &notice.asset;
    let what = match notice.kind {
        EolKind::Warranty => "Warranty",
        EolKind::Eol => "End of life",
    };
    let when = match notice.days_left {
        0 => format!("today ({})", notice.due_date),
        d if d < 0 => format!("passed on {}", notice.due_date),
        d => format!("in {d} days ({})", notice.due_date),
    };
    let mut title = format!("{what} of {}: {when}", a.name);
    if title.chars().count() > 300 {
        title = title.chars().take(300).collect();
    }
    let details: Vec<String> = [
        Some(format!("Asset: {} ({})", a.name, a.asset_type)),
        a.manufacturer
            .as_ref()
            .map(|m| format!("Manufacturer: {m}")),
        a.model.as_ref().map(|m| format!("Model: {m}")),
        a.serial_number
            .as_ref()
            .map(|s| format!("Serial number: {s}")),
        a.eol_source
            .as_ref()
            .filter(|_| notice.kind == EolKind::Eol)
            .map(|s| format!("Source: {s}")),
        Some(format!(
            "Reported at the {}-day threshold.",
            notice.threshold_days
        )),
    ]
    .into_iter()
    .flatten()
    .collect();
    NewTicket {
        title,
        description: Some(details.join("\n")),
        ticket_type: TicketType::ServiceRequest,
        priority: settings.asset_eol_priority,
        customer_id: a.customer_id,
        contact_id: a.contact_id,
        asset_id: Some(a.id),
        queue: settings.asset_eol_queue.clone(),
        assignee_id: None,
        tags: vec!["asset-eol".to_owned(), notice.kind.as_str().to_owned()],
    }
}
