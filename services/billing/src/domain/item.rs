//! Billable items: each billable time entry, with billing's state of it.
//! `pending → approved → invoiced`, or `written_off`; an edit of the time
//! entry takes an approved item back to pending; a deleted draft or a
//! removed line gives its items back (invoiced → approved).

use chrono::{DateTime, NaiveDate, Utc};
use psa_tickets::events::{BillableItemState, BillingStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ItemStatus {
    Pending,
    Approved,
    Invoiced,
    WrittenOff,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Invoiced => "invoiced",
            Self::WrittenOff => "written_off",
        }
    }
}

/// A billable time entry as billing sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct BillableItem {
    /// The time entry's id.
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// Known once tickets told billing of the ticket.
    pub customer_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub user_id: String,
    pub started_at: DateTime<Utc>,
    /// The UTC date of `started_at`: the day the work is billed for.
    pub work_date: NaiveDate,
    pub minutes: i32,
    pub description: Option<String>,
    pub work_type: Option<String>,
    pub status: ItemStatus,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub invoice_id: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BillableItem {
    /// What tickets learn of it (`billable_item.updated`).
    pub fn state(&self) -> BillableItemState {
        BillableItemState {
            time_entry_id: self.id,
            status: match self.status {
                ItemStatus::Pending => BillingStatus::Pending,
                ItemStatus::Approved => BillingStatus::Approved,
                ItemStatus::Invoiced => BillingStatus::Invoiced,
                ItemStatus::WrittenOff => BillingStatus::WrittenOff,
            },
            invoice_id: self.invoice_id,
            version: self.version,
            changed_at: self.updated_at,
        }
    }
}

/// Items named by id for an action (approve, write off).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIds {
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<Uuid>,
}

/// At most this many items per action.
pub const IDS_MAX: usize = 200;
