//! What tickets publish: one typed event type per change. `data` is the
//! ticket or time entry as GET returns it, or a small struct around it where
//! the event says more than the resource. And what they consume: CRM's
//! customer and contract events, decoded as CRM's own types, kept in the
//! projection.

use psa_events::catalog::{EventSpec, EventType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;

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

/// The event type among `types` named `name`.
fn one_of<T>(name: &str, types: [EventType<T>; 3]) -> Option<EventType<T>> {
    types.into_iter().find(|t| t.name == name)
}

/// Applies a CRM event to the projection; older versions than stored are
/// ignored. `data` is decoded as the CRM's own type for the event.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    use psa_crm::events::{
        CONTRACT_CREATED, CONTRACT_DELETED, CONTRACT_UPDATED, CUSTOMER_CREATED, CUSTOMER_DELETED,
        CUSTOMER_UPDATED,
    };
    let decode_error = |e: serde_json::Error| format!("{event_type}: {e}");
    let result = if let Some(event) = one_of(
        event_type,
        [CUSTOMER_CREATED, CUSTOMER_UPDATED, CUSTOMER_DELETED],
    ) {
        let customer = event.decode(data).map_err(decode_error)?;
        repo::projection::upsert_customer(conn, &customer, event.name == CUSTOMER_DELETED.name)
            .await
    } else if let Some(event) = one_of(
        event_type,
        [CONTRACT_CREATED, CONTRACT_UPDATED, CONTRACT_DELETED],
    ) {
        let contract = event.decode(data).map_err(decode_error)?;
        repo::projection::upsert_contract(conn, &contract, event.name == CONTRACT_DELETED.name)
            .await
    } else {
        return Ok(());
    };
    result.map_err(|e| e.to_string())
}
