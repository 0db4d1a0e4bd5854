//! A notification rule: which event types go to which channel, for whom,
//! in which words (the tenant's own templates, or the built-in ones).

use chrono::{DateTime, Utc};
use psa_events::CloudEvent;
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::channel::{ChannelKind, valid_phone};
use super::template;
use super::webhook::patterns;

/// The most recipients one rule names.
pub const RECIPIENTS_MAX: usize = 50;
/// The longest template (characters).
pub const TEMPLATE_MAX: usize = 20_000;

/// Who a rule's message goes to. Users are known from auth's events,
/// tickets and contacts from the tickets' and CRM's: `ticket_assignee` is
/// the assigned user of the ticket an event is about, `customer_contact`
/// the ticket's contact, for public comments only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recipient {
    /// An e-mail address (e-mail channels).
    Address {
        #[schema(schema_with = formats::email)]
        address: String,
    },
    /// A phone number in E.164 (SMS channels).
    Phone {
        #[schema(pattern = r"^\+[1-9][0-9]{6,14}$", max_length = 16)]
        number: String,
    },
    User {
        user_id: Uuid,
    },
    /// Every active user with this role.
    Role {
        #[schema(schema_with = formats::line::<100>)]
        role: String,
    },
    TicketAssignee,
    CustomerContact,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub event_types: Vec<String>,
    pub channel_id: Uuid,
    #[schema(value_type = Vec<Recipient>)]
    pub recipients: Json<Vec<Recipient>>,
    pub subject_template: Option<String>,
    pub text_template: Option<String>,
    pub html_template: Option<String>,
    pub enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What POST takes and a merge patch applies to. Templates are MiniJinja
/// (`{{ data.title }}`, `{{ event.type }}`); HTML is escaped automatically.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[schema(schema_with = super::webhook::event_types_schema)]
    pub event_types: Vec<String>,
    pub channel_id: Uuid,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub recipients: Vec<Recipient>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 20000)]
    pub subject_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 20000)]
    pub text_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 20000)]
    pub html_template: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl From<&Rule> for RuleInput {
    fn from(r: &Rule) -> Self {
        Self {
            name: r.name.clone(),
            event_types: r.event_types.clone(),
            channel_id: r.channel_id,
            recipients: r.recipients.0.clone(),
            subject_template: r.subject_template.clone(),
            text_template: r.text_template.clone(),
            html_template: r.html_template.clone(),
            enabled: r.enabled,
        }
    }
}

impl RuleInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        patterns(&mut e, "event_types", &self.event_types, 1);
        if self.recipients.len() > RECIPIENTS_MAX {
            e.add_code(
                "recipients",
                "too_many",
                format!("at most {RECIPIENTS_MAX} recipients"),
            );
        }
        for (i, r) in self.recipients.iter().enumerate() {
            let field = format!("recipients[{i}]");
            match r {
                Recipient::Address { address } => {
                    e.email(&format!("{field}.address"), Some(address))
                }
                Recipient::Phone { number } if !valid_phone(number) => e.add(
                    &format!("{field}.number"),
                    "must be an E.164 number (+4915…)",
                ),
                Recipient::Role { role } => e.text(&format!("{field}.role"), role, 100),
                _ => {}
            }
        }
        for (field, source) in [
            ("subject_template", &self.subject_template),
            ("text_template", &self.text_template),
            ("html_template", &self.html_template),
        ] {
            if let Some(s) = source {
                if s.chars().count() > TEMPLATE_MAX {
                    e.add_code(field, "too_long", format!("at most {TEMPLATE_MAX} bytes"));
                } else if let Err(why) = template::check(s) {
                    e.add_code(field, "invalid_template", why);
                }
            }
        }
        e.finish()
    }

    /// The recipients a channel of `kind` cannot reach.
    pub fn check_kind(&self, kind: ChannelKind) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        for (i, r) in self.recipients.iter().enumerate() {
            let fits = !matches!(
                (kind, r),
                (ChannelKind::Teams, _)
                    | (ChannelKind::Email, Recipient::Phone { .. })
                    | (ChannelKind::Sms, Recipient::Address { .. })
            );
            if !fits {
                let why = match kind {
                    ChannelKind::Teams => {
                        "a Teams channel posts to its channel: name no recipients"
                    }
                    ChannelKind::Email => "an e-mail channel sends to addresses, not phone numbers",
                    ChannelKind::Sms => "an SMS channel sends to phone numbers, not addresses",
                };
                e.add_code(&format!("recipients[{i}]"), "incompatible", why);
            }
        }
        e.finish()
    }
}

/// The ticket an event is about, as far as recipients need it.
#[derive(Debug, Default, Deserialize)]
pub struct TicketRef {
    pub assignee_id: Option<String>,
    pub contact_id: Option<Uuid>,
}

/// A ticket's event carries the ticket as its data or under `ticket`.
pub fn ticket_of(event: &CloudEvent) -> Option<TicketRef> {
    if !event.event_type.starts_with("ticket.") {
        return None;
    }
    let data = event.data.get("ticket").unwrap_or(&event.data);
    serde_json::from_value(data.clone()).ok()
}

/// Whether the event is a comment the customer sees.
pub fn public_comment(event: &CloudEvent) -> bool {
    event.event_type == "ticket.comment_added"
        && event.data["comment"]["visibility"] == serde_json::json!("public")
}
