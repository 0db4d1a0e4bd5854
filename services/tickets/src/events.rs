//! What tickets publish: one typed event type per change. `data` is the
//! ticket or time entry as GET returns it, or a small struct around it where
//! the event says more than the resource.

use psa_events::catalog::{EventSpec, EventType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::comment::Comment;
use crate::domain::ticket::Ticket;
use crate::domain::time_entry::TimeEntry;

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
