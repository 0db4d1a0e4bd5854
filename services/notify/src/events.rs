//! What the notify module publishes (its subscriptions', channels' and
//! rules' lifecycles, a subscription's disabling) and what it consumes:
//! every event type (`#`), because which types a tenant's subscriptions and
//! rules want changes with each of them, and a binding per pattern would
//! have to follow every tenant's edits across processes. The handler
//! ([`crate::workers::handle`]) matches each event against the
//! subscriptions and rules of the event's own tenant (row-level security
//! scopes the lookup) and records its deliveries and messages in the same
//! transaction as the inbox record: an event is fanned out once. Users
//! (`user.*`) and contacts (`contact.*`) are kept for recipients.

use psa_events::catalog::{EventSpec, EventType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Channel, Rule, Webhook};

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

pub const CHANNEL_CREATED: EventType<Channel> = EventType::new(
    "notification_channel.created",
    "A notification channel was added.",
);
pub const CHANNEL_UPDATED: EventType<Channel> = EventType::new(
    "notification_channel.updated",
    "A notification channel's settings, secret or state changed (the secret is not in the event).",
);
pub const CHANNEL_DELETED: EventType<Channel> = EventType::new(
    "notification_channel.deleted",
    "A notification channel was removed; data is the channel as it was.",
);
pub const RULE_CREATED: EventType<Rule> = EventType::new(
    "notification_rule.created",
    "A notification rule was added.",
);
pub const RULE_UPDATED: EventType<Rule> = EventType::new(
    "notification_rule.updated",
    "A notification rule was changed.",
);
pub const RULE_DELETED: EventType<Rule> = EventType::new(
    "notification_rule.deleted",
    "A notification rule was removed; data is the rule as it was.",
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
    CHANNEL_CREATED.spec(),
    CHANNEL_UPDATED.spec(),
    CHANNEL_DELETED.spec(),
    RULE_CREATED.spec(),
    RULE_UPDATED.spec(),
    RULE_DELETED.spec(),
];

pub const CONSUMES: &[&str] = &["#"];
