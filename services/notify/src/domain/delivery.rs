//! Deliveries (one event for one subscription), their attempts, and the
//! dead letters they become when every attempt of a round failed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How much of a receiver's answer is kept with an attempt.
pub const RESPONSE_KEPT: usize = 20 * 1024;

/// The body every delivery carries (Standard Webhooks' shape).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventBody {
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// A 2xx answer.
    Delivered,
    /// Any other answer.
    Failed,
    /// No answer: timeout, refused connection, a forbidden address.
    Error,
}

/// One attempt to deliver one event to one subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Attempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id: `webhook-id` of every attempt of it.
    pub event_id: Uuid,
    pub event_type: String,
    pub outcome: AttemptOutcome,
    /// The HTTP status, when there was an answer.
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    /// The first 20 kB of the answer.
    pub response_body: Option<String>,
    /// Made by a replay or a recovery (not the first round).
    pub replay: bool,
    pub attempted_at: DateTime<Utc>,
}

/// An event whose every attempt failed: kept for replay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    /// The delivery's id (what replay takes).
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub url: String,
    pub event_id: Uuid,
    pub event_type: String,
    /// The body as delivered.
    pub event: EventBody,
    pub attempt_count: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the last attempt failed.
    pub dead_since: DateTime<Utc>,
    /// Every attempt, oldest first (in the single view; empty in lists).
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

/// The answer to a replay or a recovery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Requeued {
    /// Deliveries sent again (their new attempts appear in the log).
    pub requeued: i64,
}

/// `POST /v1/webhooks/{id}/recover`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// Dead letters of deliveries created at or after this time are sent again.
    pub since: DateTime<Utc>,
    /// And before this time (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// The first [`RESPONSE_KEPT`] bytes of an answer, cut at a character boundary.
pub fn kept(body: &[u8]) -> String {
    let cut = &body[..body.len().min(RESPONSE_KEPT)];
    let text = String::from_utf8_lossy(cut);
    text.trim_end_matches('\u{fffd}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_twenty_kilobytes_of_whole_characters() {
        let long = "ä".repeat(RESPONSE_KEPT);
        let k = kept(long.as_bytes());
        assert!(k.len() <= RESPONSE_KEPT);
        assert!(k.len() >= RESPONSE_KEPT - 1);
        assert!(k.chars().all(|c| c == 'ä'));
        assert_eq!(kept(b"ok"), "ok");
    }
}
