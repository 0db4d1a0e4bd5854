//! What the notify module publishes (its subscriptions' lifecycle and their
//! disabling) and what it consumes: every event type (`#`), because which
//! types a tenant's subscriptions want changes with each subscription, and
//! a binding per pattern would have to follow every tenant's edits across
//! processes. The handler matches each event against the subscriptions of
//! the event's own tenant (row-level security scopes the lookup) and
//! records one delivery per matching subscription, in the same transaction
//! as the inbox record: an event is fanned out once.

use psa_events::catalog::{EventSpec, EventType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Webhook;

pub const WEBHOOK_CREATED: EventType<Webhook> =
    EventType::new("webhook.created", "A webhook subscription was created.");
pub const WEBHOOK_UPDATED: EventType<Webhook> = EventType::new(
    "webhook.updated",
    "A webhook subscription was changed (its URL, event types, state or secret).",
);
pub const WEBHOOK_DELETED: EventType<Webhook> = EventType::new(
    "webhook.deleted",
    "A webhook subscription was deleted; data is the subscription as it was.",
);
pub const WEBHOOK_DISABLED: EventType<WebhookDisabled> = EventType::new(
    "webhook.disabled",
    "The platform disabled a webhook subscription: the endpoint answered 410 Gone, or every delivery failed for the configured days.",
);

/// `webhook.disabled`: the subscription after it and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookDisabled {
    pub webhook: Webhook,
    pub reason: String,
}

pub const PUBLISHES: &[EventSpec] = &[
    WEBHOOK_CREATED.spec(),
    WEBHOOK_UPDATED.spec(),
    WEBHOOK_DELETED.spec(),
    WEBHOOK_DISABLED.spec(),
];

pub const CONSUMES: &[&str] = &["#"];
