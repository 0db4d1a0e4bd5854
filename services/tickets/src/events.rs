//! What tickets publish: one typed event type per change. `data` is the
//! ticket or time entry as GET returns it, or a small struct around it where
//! the event says more than the resource. And what they consume: CRM's
//! customer and contract events, decoded as CRM's own types, kept in the
//! projection; and billing's state of each time entry, whose type tickets
//! own (billing depends on this crate, not the other way round) and billing
//! publishes.

use chrono::{DateTime, Utc};
use psa_events::catalog::{EventSpec, EventType, Lifecycle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::comment::Comment;
use crate::domain::ticket::Ticket;
use crate::domain::time_entry::TimeEntry;
use crate::repo;

/// `ticket.comment_added`: the comment and its ticket after it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentAdded {
    pub ticket: Ticket,
    pub comment: Comment,
}

/// Which SLA target a ticket missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// No first public response by `response_due_at`.
    Response,
    /// Not resolved by `resolution_due_at`.
    Resolution,
}

/// `ticket.sla_breached`: which target, and the ticket as it is then.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlaBreached {
    pub kind: BreachKind,
    pub ticket: Ticket,
}

pub const TICKET_CREATED: EventType<Ticket> =
    EventType::new("ticket.created", "A ticket was opened.");
pub const TICKET_UPDATED: EventType<Ticket> = EventType::new(
    "ticket.updated",
    "A ticket was changed (any field, also its first response).",
);
pub const TICKET_STATUS_CHANGED: EventType<Ticket> = EventType::new(
    "ticket.status_changed",
    "A ticket's status changed; published beside ticket.updated.",
);
pub const TICKET_ASSIGNED: EventType<Ticket> = EventType::new(
    "ticket.assigned",
    "A ticket's assignee changed; published beside ticket.updated.",
);
pub const TICKET_COMMENT_ADDED: EventType<CommentAdded> =
    EventType::new("ticket.comment_added", "A comment was added to a ticket.");
pub const TICKET_SLA_BREACHED: EventType<SlaBreached> = EventType::new(
    "ticket.sla_breached",
    "A ticket's response or resolution due time passed; published once per target.",
);
pub const TIME_ENTRY_LOGGED: EventType<TimeEntry> =
    EventType::new("time_entry.logged", "Time was booked on a ticket.");
pub const TIME_ENTRY_UPDATED: EventType<TimeEntry> = EventType::new(
    "time_entry.updated",
    "A time entry was corrected (only unbilled entries change).",
);
pub const TIME_ENTRY_DELETED: EventType<TimeEntry> = EventType::new(
    "time_entry.deleted",
    "A time entry was removed; data is the entry as it was.",
);

/// A time entry's lifecycle, as consumers (billing) read it.
pub const TIME_ENTRY: Lifecycle<TimeEntry> = Lifecycle {
    created: TIME_ENTRY_LOGGED,
    updated: TIME_ENTRY_UPDATED,
    deleted: TIME_ENTRY_DELETED,
};

/// Where billing has a time entry (`billable_item.updated`, published by
/// billing; the event's subject is the time entry's id).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BillableItemState {
    pub time_entry_id: Uuid,
    pub status: BillingStatus,
    /// The invoice the entry is on, if any.
    pub invoice_id: Option<Uuid>,
    /// Billing's version of the item, from 1 and growing with each change: a
    /// state older than one already applied is ignored.
    pub version: i64,
    /// When billing's state changed; for `invoiced`, the entry's `billed_at`.
    pub changed_at: DateTime<Utc>,
}

impl BillableItemState {
    /// The time entry's `billed_at` under this state: set only while the
    /// entry is invoiced, so an entry billing takes back (approved again,
    /// pending, written off) can be corrected again.
    pub fn billed_at(&self) -> Option<DateTime<Utc>> {
        (self.status == BillingStatus::Invoiced).then_some(self.changed_at)
    }
}

/// Billing's status of a time entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingStatus {
    /// Known to billing, not yet approved for invoicing.
    Pending,
    /// Approved for the next invoice run.
    Approved,
    /// On an invoice: the time entry is frozen.
    Invoiced,
    /// Will not be invoiced.
    WrittenOff,
}

/// Published by billing with this constant; not in [`PUBLISHES`] (billing
/// lists it among its own).
pub const BILLABLE_ITEM_UPDATED: EventType<BillableItemState> = EventType::new(
    "billable_item.updated",
    "Billing's state of a time entry changed (pending, approved, invoiced, written off); published by billing.",
);

/// Every event type tickets publish, for the registry.
pub const PUBLISHES: &[EventSpec] = &[
    TICKET_CREATED.spec(),
    TICKET_UPDATED.spec(),
    TICKET_STATUS_CHANGED.spec(),
    TICKET_ASSIGNED.spec(),
    TICKET_COMMENT_ADDED.spec(),
    TICKET_SLA_BREACHED.spec(),
    TIME_ENTRY_LOGGED.spec(),
    TIME_ENTRY_UPDATED.spec(),
    TIME_ENTRY_DELETED.spec(),
];

/// Applies a consumed event: a CRM or assets event to the projection, an
/// `asset.eol` notice as a ticket where the tenant wants one, billing's
/// state of a time entry to that entry. Older versions than the ones applied are
/// ignored, and so are other event types. `data` is decoded as the
/// publisher's type for the event.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    use psa_crm::events::{CONTRACT, CUSTOMER};
    let decode_error = |e: serde_json::Error| format!("{event_type}: {e}");
    let result = if let Some(customer) = CUSTOMER.decode(event_type, data) {
        let (customer, deleted) = customer.map_err(decode_error)?;
        repo::projection::upsert_customer(conn, &customer, deleted).await
    } else if let Some(contract) = CONTRACT.decode(event_type, data) {
        let (contract, deleted) = contract.map_err(decode_error)?;
        repo::projection::upsert_contract(conn, &contract, deleted).await
    } else if let Some(asset) = psa_assets::events::ASSET.decode(event_type, data) {
        let (asset, deleted) = asset.map_err(decode_error)?;
        repo::projection::upsert_asset(conn, &asset, deleted).await
    } else if event_type == psa_assets::events::ASSET_EOL.name {
        let notice = psa_assets::events::ASSET_EOL
            .decode(data)
            .map_err(decode_error)?;
        // The asset as the notice carries it is at least as new as the
        // projection's (the watch reads it before publishing).
        repo::projection::upsert_asset(conn, &notice.asset, false)
            .await
            .map_err(|e| e.to_string())?;
        match repo::tickets::open_for_eol(conn, &notice).await {
            Ok(Some(ticket)) => psa_events::outbox::enqueue(
                conn,
                crate::DB.schema,
                TICKET_CREATED.name,
                ticket.id,
                &ticket,
            )
            .await
            .map(|_| ()),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        }
    } else if event_type == BILLABLE_ITEM_UPDATED.name {
        let state = BILLABLE_ITEM_UPDATED.decode(data).map_err(decode_error)?;
        repo::time_entries::apply_billing_state(
            conn,
            state.time_entry_id,
            state.billed_at(),
            state.version,
        )
        .await
        .map(|_| ())
    } else {
        return Ok(());
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape billing publishes and tickets read.
    #[test]
    fn billable_item_state_on_the_wire() {
        let wire = json!({"time_entry_id": "0196f1e2-7a3b-7c4d-8e5f-a1b2c3d4e5f6",
            "status": "written_off", "invoice_id": null, "version": 3,
            "changed_at": "2026-11-30T10:00:00Z"});
        let state = BILLABLE_ITEM_UPDATED.decode(&wire).unwrap();
        assert_eq!(state.status, BillingStatus::WrittenOff);
        assert_eq!(state.billed_at(), None);
        assert_eq!(BILLABLE_ITEM_UPDATED.encode(&state).unwrap(), wire);

        let mut invoiced = wire;
        invoiced["status"] = json!("invoiced");
        invoiced["invoice_id"] = json!("0196f1e2-7a3b-7c4d-8e5f-000000000001");
        let state = BILLABLE_ITEM_UPDATED.decode(&invoiced).unwrap();
        assert_eq!(state.billed_at(), Some(state.changed_at));
        assert!(
            BILLABLE_ITEM_UPDATED
                .decode(&json!({"status": "billed"}))
                .is_err()
        );
    }
}
