//! What the notify module is about, without SQL or HTTP: subscriptions and
//! their event-type patterns, Standard Webhooks signatures, the retry
//! policy, deliveries, attempts and dead letters; channels, rules, their
//! templates and messages, users' preferences.

pub mod channel;
pub mod delivery;
pub mod message;
pub mod retry;
pub mod rule;
pub mod signing;
pub mod template;
pub mod webhook;

pub use channel::{Channel, ChannelInput, ChannelKind};
pub use delivery::{Attempt, AttemptOutcome, DeadLetter};
pub use message::{Message, MessageState, Preferences, PreferencesInput};
pub use rule::{Recipient, Rule, RuleInput};
pub use webhook::{Webhook, WebhookInput};
