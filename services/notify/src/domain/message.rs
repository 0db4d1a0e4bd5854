//! Messages (one rule's notice of one event to one recipient), their
//! states, and a user's notification preferences.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::webhook::patterns;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MessageState {
    /// Waiting for its (next) attempt.
    Pending,
    Sent,
    /// Every attempt failed.
    Dead,
    /// The recipient's cap was reached: it goes into the next digest.
    Held,
    /// Sent as part of a digest.
    Digested,
}

/// A message as the channel's log shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    /// The rule that made it (null for a digest).
    pub rule_id: Option<Uuid>,
    pub channel_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// An e-mail address, a phone number, or `teams`.
    pub recipient: String,
    pub user_id: Option<Uuid>,
    pub subject: String,
    pub state: MessageState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One attempt to send a message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct MessageAttempt {
    pub id: Uuid,
    pub outcome: super::AttemptOutcome,
    /// The server's answer: the SMTP reply, or the HTTP status and the
    /// first 20 kB of the body.
    pub detail: Option<String>,
    pub duration_ms: i32,
    pub error: Option<String>,
    pub attempted_at: DateTime<Utc>,
}

/// A message with every attempt, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub message: Message,
    pub attempts_made: Vec<MessageAttempt>,
}

/// A user's notification preferences.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    /// Event types (or patterns, `ticket.*`) the user is not notified of.
    pub muted_event_types: Vec<String>,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    #[schema(schema_with = super::webhook::muted_schema)]
    pub muted_event_types: Vec<String>,
}

impl PreferencesInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        patterns(&mut e, "muted_event_types", &self.muted_event_types, 0);
        e.finish()
    }
}
