//! The audit trail: security-relevant events (sign-ins, MFA changes, secrets
//! issued or revoked, role changes): who, what, when, from where. Never the
//! secrets themselves.

use chrono::{DateTime, Utc};
use psa_authn::Caller;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    /// e.g. `sign_in`, `mfa.enabled`, `api_key.created`, `user.roles_changed`.
    pub action: String,
    /// The user, client or e-mail address that acted.
    pub actor: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub detail: Value,
    pub created_at: DateTime<Utc>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub actor: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub ip: Option<String>,
    pub detail: Value,
}

impl Entry {
    /// A successful action of the calling user or client on `target`.
    pub fn by(
        caller: &Caller,
        ip: &Option<String>,
        action: &'static str,
        target: impl ToString,
        detail: Value,
    ) -> Self {
        Self {
            action,
            actor: caller.subject.clone(),
            target: Some(target.to_string()),
            outcome: Outcome::Success,
            ip: ip.clone(),
            detail,
        }
    }

    /// An attempt of `actor` (who is not a caller with a token: sign-in,
    /// token requests), successful or not.
    pub fn attempt(
        actor: &str,
        ip: &Option<String>,
        action: &'static str,
        target: Option<String>,
        ok: bool,
        detail: Value,
    ) -> Self {
        Self {
            action,
            actor: actor.to_owned(),
            target,
            outcome: if ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            ip: ip.clone(),
            detail,
        }
    }
}
