//! What the auth module publishes: its users as they change, so that other
//! modules address people by user (notify's recipients, a user's role).
//! Everything else that happens here is recorded on the audit trail
//! (`/v1/audit-events`), not published.

use psa_events::catalog::{EventSpec, EventType};

use crate::domain::user::User;

pub const USER_CREATED: EventType<User> = EventType::new(
    "user.created",
    "A user was added to the tenant (no secrets: e-mail, name, status, roles).",
);
pub const USER_UPDATED: EventType<User> = EventType::new(
    "user.updated",
    "A user was renamed, suspended, reactivated or given other roles.",
);

pub const PUBLISHES: &[EventSpec] = &[USER_CREATED.spec(), USER_UPDATED.spec()];
