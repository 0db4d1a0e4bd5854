//! A webhook subscription: where a tenant's events go, which ones, and
//! whether it is on. Its secret is never part of it (returned once at
//! creation and at each rotation).

use chrono::{DateTime, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The most event-type patterns one subscription has.
pub const PATTERNS_MAX: usize = 100;
/// The longest URL accepted.
pub const URL_MAX: usize = 2048;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// Event types delivered: names, `prefix.*` patterns or `*` for all.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub description: Option<String>,
    /// Why the platform disabled it (410 Gone, failing for days); null when
    /// it is enabled or was disabled by hand.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (null: the last one succeeded).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// A catch-up from the event archive still under way from this time.
    pub catching_up_since: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What POST takes and a merge patch applies to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// https (http only where the deployment allows it); the host must
    /// resolve to public addresses only.
    #[schema(schema_with = formats::line::<2048>)]
    pub url: String,
    #[schema(schema_with = event_types_schema)]
    pub event_types: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<500>)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

impl From<&Webhook> for WebhookInput {
    fn from(w: &Webhook) -> Self {
        Self {
            url: w.url.clone(),
            event_types: w.event_types.clone(),
            enabled: w.enabled,
            description: w.description.clone(),
        }
    }
}

impl WebhookInput {
    /// The form of every field (the URL's destination is the SSRF guard's).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("url", &self.url, URL_MAX);
        e.opt_text("description", self.description.as_deref(), 500);
        patterns(&mut e, "event_types", &self.event_types, 1);
        e.finish()
    }
}

/// `POST /v1/webhooks`: the subscription and, optionally, where in the
/// event archive its deliveries start.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: WebhookInput,
    /// Deliver the archived events since this time first (the archive keeps
    /// a configured number of days), then the new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// A subscription with its secret: the answer to its creation, the only
/// time the secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: configure it in the receiver; it is not shown again.
    pub secret: String,
}

/// The answer to a rotation: the new secret, and until when the old one
/// still signs (both `v1,` entries are sent meanwhile).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotatedSecret {
    pub secret: String,
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// Checks a list of at least `min` and at most [`PATTERNS_MAX`] event-type
/// patterns, naming each bad one.
pub fn patterns(e: &mut FieldErrors, field: &str, list: &[String], min: usize) {
    if list.len() < min {
        e.add_code(field, "empty", "name at least one event type or *");
    } else if list.len() > PATTERNS_MAX {
        e.add_code(
            field,
            "too_many",
            format!("at most {PATTERNS_MAX} patterns"),
        );
    }
    for (i, p) in list.iter().enumerate() {
        if !valid_pattern(p) {
            e.add_code(
                &format!("{field}[{i}]"),
                "invalid_pattern",
                "an event type (ticket.created), a prefix pattern (ticket.*) or *",
            );
        }
    }
}

/// What [`valid_pattern`] accepts, as the API documents it.
pub const PATTERN: &str = r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$";

fn patterns_schema(min_items: usize) -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(PATTERN))
                .min_length(Some(1))
                .max_length(Some(100)),
        )
        .min_items(Some(min_items))
        .max_items(Some(PATTERNS_MAX))
}

/// A list of 1 to 100 event-type patterns.
pub fn event_types_schema() -> utoipa::openapi::schema::ArrayBuilder {
    patterns_schema(1)
}

/// A list of up to 100 event-type patterns.
pub fn muted_schema() -> utoipa::openapi::schema::ArrayBuilder {
    patterns_schema(0)
}

/// An event-type pattern: `*`, `a.b`, `a.*`, in lower case, digits and `_`.
pub fn valid_pattern(p: &str) -> bool {
    if p == "*" {
        return true;
    }
    let name = p.strip_suffix(".*").unwrap_or(p);
    p.len() <= 100
        && !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Whether `event_type` is one of `patterns`' (`ticket.*` holds
/// `ticket.created` and `ticket.sla.breached`, not `tickets.x`).
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == event_type
            || p.strip_suffix('*').is_some_and(|prefix| {
                event_type.starts_with(prefix) && event_type.len() > prefix.len()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_pattern_is_the_check() {
        let re = regex::Regex::new(PATTERN).unwrap();
        for p in [
            "*",
            "ticket.created",
            "ticket.*",
            "a1.b2.*",
            "",
            "Ticket",
            "ticket.",
            ".x",
            "*.x",
            "a.*.b",
            "#",
        ] {
            assert_eq!(re.is_match(p), valid_pattern(p), "{p:?}");
        }
    }

    #[test]
    fn patterns() {
        for ok in [
            "*",
            "ticket.created",
            "ticket.*",
            "time_entry.logged",
            "a1.b2.*",
        ] {
            assert!(valid_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "Ticket.created",
            "ticket.",
            ".x",
            "ticket.**",
            "*.created",
            "ticket created",
            "#",
            "ticket.*.x",
        ] {
            assert!(!valid_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn matching() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches(&p(&["*"]), "invoice.released"));
        assert!(matches(&p(&["ticket.*"]), "ticket.created"));
        assert!(!matches(&p(&["ticket.*"]), "tickets.created"));
        assert!(!matches(&p(&["ticket.*"]), "ticket"));
        assert!(matches(
            &p(&["customer.created", "ticket.*"]),
            "customer.created"
        ));
        assert!(!matches(&p(&["customer.created"]), "customer.updated"));
    }

    #[test]
    fn validation_names_each_bad_pattern() {
        let input = WebhookInput {
            url: "https://example.com".into(),
            event_types: vec!["ticket.*".into(), "Bad".into()],
            enabled: true,
            description: None,
        };
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "event_types[1]");
    }
}
