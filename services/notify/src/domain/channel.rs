//! A notification channel: where rule messages go out — e-mail over SMTP,
//! a Microsoft Teams channel (a Workflows webhook), or SMS through an HTTP
//! provider (Twilio's `Messages.json`). Its secret (the SMTP password, the
//! provider's token) is write-only.

use chrono::{DateTime, Utc};
use psa_http::validate::FieldErrors;
use psa_http::{FieldError, formats};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Teams,
    Sms,
}

/// How the SMTP connection is protected: STARTTLS on a plain connection
/// (587), TLS from the start (465), or none (development only, where the
/// deployment allows insecure outbound connections).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The SMTP server (a name or an address; it must resolve to public
    /// addresses unless the deployment allows others).
    #[schema(schema_with = formats::line::<253>)]
    pub host: String,
    #[serde(default = "submission_port")]
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// For SMTP AUTH (the password is the channel's `secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub username: Option<String>,
    /// The sender's address.
    #[schema(schema_with = formats::email)]
    pub from: String,
    /// The sender's name, shown with the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<200>)]
    pub from_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_email)]
    pub reply_to: Option<String>,
    /// A certificate authority (PEM) trusted besides the system's, for a
    /// relay with a private certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "-----BEGIN CERTIFICATE-----", max_length = 20000)]
    pub ca_certificate: Option<String>,
}

fn submission_port() -> u16 {
    587
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamsSettings {
    /// The Workflows webhook URL of the Teams channel ("When a Teams
    /// webhook request is received").
    #[schema(schema_with = formats::line::<2048>)]
    pub webhook_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// The provider's API (Twilio's by default).
    #[serde(default = "twilio")]
    #[schema(schema_with = formats::line::<2048>)]
    pub base_url: String,
    #[schema(schema_with = formats::line::<64>)]
    pub account_sid: String,
    /// The sending number (E.164) or an alphanumeric sender id (a letter,
    /// then up to 10 letters and digits).
    #[schema(
        pattern = r"^(\+[1-9][0-9]{6,14}|[A-Za-z][A-Za-z0-9]{0,10})$",
        max_length = 16
    )]
    pub from: String,
}

fn twilio() -> String {
    "https://api.twilio.com".into()
}

/// A channel as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Channel {
    pub id: Uuid,
    pub name: String,
    pub kind: ChannelKind,
    /// The kind's settings (`EmailSettings`, `TeamsSettings`, `SmsSettings`).
    #[schema(value_type = Object)]
    pub settings: Json<serde_json::Value>,
    /// Whether a secret (SMTP password, SMS token) is stored.
    pub has_secret: bool,
    pub enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What POST takes and a merge patch applies to: the kind's settings under
/// the kind's name. `secret` is write-only (`null` removes it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsSettings>,
    /// The SMTP password or the SMS provider's auth token; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = formats::opt_line::<500>)]
    pub secret: Option<String>,
}

fn yes() -> bool {
    true
}

impl From<&Channel> for ChannelInput {
    fn from(c: &Channel) -> Self {
        let settings = c.settings.0.clone();
        let (mut email, mut teams, mut sms) = (None, None, None);
        match c.kind {
            ChannelKind::Email => email = serde_json::from_value(settings).ok(),
            ChannelKind::Teams => teams = serde_json::from_value(settings).ok(),
            ChannelKind::Sms => sms = serde_json::from_value(settings).ok(),
        }
        Self {
            name: c.name.clone(),
            kind: c.kind,
            enabled: c.enabled,
            email,
            teams,
            sms,
            secret: None,
        }
    }
}

/// The kind's settings, as sent.
#[derive(Debug, Clone)]
pub enum Settings {
    Email(EmailSettings),
    Teams(TeamsSettings),
    Sms(SmsSettings),
}

impl Settings {
    pub fn of(kind: ChannelKind, settings: &serde_json::Value) -> Option<Self> {
        let s = settings.clone();
        Some(match kind {
            ChannelKind::Email => Settings::Email(serde_json::from_value(s).ok()?),
            ChannelKind::Teams => Settings::Teams(serde_json::from_value(s).ok()?),
            ChannelKind::Sms => Settings::Sms(serde_json::from_value(s).ok()?),
        })
    }
}

impl ChannelInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        let given = [
            ("email", self.email.is_some(), ChannelKind::Email),
            ("teams", self.teams.is_some(), ChannelKind::Teams),
            ("sms", self.sms.is_some(), ChannelKind::Sms),
        ];
        for (field, present, kind) in given {
            if present && kind != self.kind {
                e.add_code(
                    field,
                    "inconsistent",
                    "only the settings of the channel's kind",
                );
            }
            if !present && kind == self.kind {
                e.add_code(field, "missing", "the settings of the channel's kind");
            }
        }
        if let Some(s) = &self.email {
            e.text("email.host", &s.host, 253);
            if s.port == 0 {
                e.add_code("email.port", "out_of_range", "must be 1 to 65535");
            }
            e.opt_text("email.username", s.username.as_deref(), 200);
            e.email("email.from", Some(&s.from));
            e.opt_text("email.from_name", s.from_name.as_deref(), 200);
            e.email("email.reply_to", s.reply_to.as_deref());
            if let Some(ca) = &s.ca_certificate
                && (ca.len() > 20_000 || !ca.contains("-----BEGIN CERTIFICATE-----"))
            {
                e.add("email.ca_certificate", "must be a PEM certificate");
            }
        }
        if let Some(s) = &self.teams {
            e.text("teams.webhook_url", &s.webhook_url, 2048);
        }
        if let Some(s) = &self.sms {
            e.text("sms.base_url", &s.base_url, 2048);
            e.text("sms.account_sid", &s.account_sid, 64);
            if !valid_sender(&s.from) {
                e.add(
                    "sms.from",
                    "must be an E.164 number (+4915…) or a letter and up to 10 letters and digits",
                );
            }
        }
        e.opt_text("secret", self.secret.as_deref(), 500);
        e.finish()
    }

    /// The kind's settings as stored.
    pub fn settings(&self) -> serde_json::Value {
        let v = match self.kind {
            ChannelKind::Email => serde_json::to_value(&self.email),
            ChannelKind::Teams => serde_json::to_value(&self.teams),
            ChannelKind::Sms => serde_json::to_value(&self.sms),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// An E.164 phone number: `+`, then 7 to 15 digits.
pub fn valid_phone(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn valid_sender(s: &str) -> bool {
    valid_phone(s)
        || ((1..=11).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_senders() {
        assert!(valid_phone("+4915112345678"));
        assert!(!valid_phone("015112345678"));
        assert!(!valid_phone("+0123456789"));
        assert!(!valid_phone("+49 151 1234"));
        assert!(valid_sender("PSA"));
        assert!(valid_sender("Acme24"));
        assert!(!valid_sender("24Acme"));
        assert!(!valid_sender("123"));
        assert!(!valid_sender("TooLongSender1"));
    }

    #[test]
    fn only_the_kind_s_settings() {
        let input = ChannelInput {
            name: "Ops".into(),
            kind: ChannelKind::Teams,
            enabled: true,
            email: None,
            teams: None,
            sms: Some(SmsSettings {
                base_url: twilio(),
                account_sid: "AC1".into(),
                from: "+4915112345678".into(),
            }),
            secret: None,
        };
        let fields: Vec<String> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["teams", "sms"]);
    }
}
