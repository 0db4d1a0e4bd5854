//! What the notify module is about, without SQL or HTTP: subscriptions and
//! their event-type patterns, Standard Webhooks signatures, the retry
//! policy, deliveries, attempts and dead letters.

pub mod delivery;
pub mod retry;
pub mod signing;
pub mod webhook;

pub use delivery::{Attempt, AttemptOutcome, DeadLetter};
pub use webhook::{Webhook, WebhookInput};
