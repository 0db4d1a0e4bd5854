//! The event backbone: CloudEvents 1.0 on one RabbitMQ topic exchange, a
//! transactional outbox per module with a relay that publishes with
//! publisher confirms, and consumers that record handled ids in an inbox in
//! the same transaction as their effect (see EVENTS.md).

pub mod bus;
pub mod catalog;
pub mod envelope;
pub mod listen;
pub mod outbox;

pub use bus::{Bus, BusConfig, MaxAge, PublishOutcome};

pub use envelope::CloudEvent;
