//! Sending one message on its channel: e-mail over SMTP (lettre: STARTTLS
//! or TLS, AUTH, multipart text and HTML, `Auto-Submitted`, a
//! `Message-ID`), a Microsoft Teams post (an Adaptive Card 1.4 in the
//! Workflows message envelope), an SMS (Twilio's `Messages.json` form
//! post). Every destination a tenant set passes the SSRF guard, on the
//! address connected to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use psa_outbound::Guard;
use serde_json::json;

use crate::domain::channel::{EmailSettings, Settings, SmsSettings, SmtpSecurity, TeamsSettings};
use crate::domain::delivery::kept;
use crate::domain::retry::{Outcome, retry_after};
use crate::repo::messages::Due;

/// What one attempt came to: the retry policy's outcome, the server's
/// answer (SMTP reply, HTTP status and body) and the error, if any.
#[derive(Debug)]
pub struct Sent {
    pub outcome: Outcome,
    pub answered: bool,
    pub detail: Option<String>,
    pub error: Option<String>,
    pub duration: Duration,
}

/// The longest SMS body sent (Twilio's limit).
const SMS_MAX: usize = 1600;

pub struct Senders {
    guard: Arc<Guard>,
    http: reqwest::Client,
    timeout: Duration,
    /// SMTP without TLS where the deployment allows insecure destinations.
    allow_insecure: bool,
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no auto-replies to us.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

impl Senders {
    pub fn new(
        guard: Arc<Guard>,
        timeout: Duration,
        allow_insecure: bool,
    ) -> reqwest::Result<Self> {
        Ok(Self {
            http: guard.client(timeout)?,
            guard,
            timeout,
            allow_insecure,
        })
    }

    /// Sends `due` with the channel's unsealed `secret`.
    pub async fn send(&self, due: &Due, secret: Option<&str>) -> Sent {
        let started = Instant::now();
        let result = match Settings::of(due.kind, &due.settings.0) {
            None => Err(Failure::error("the channel's settings cannot be read")),
            Some(Settings::Email(s)) => self.email(&s, secret, due).await,
            Some(Settings::Teams(s)) => self.teams(&s, due).await,
            Some(Settings::Sms(s)) => self.sms(&s, secret, due).await,
        };
        let duration = started.elapsed();
        match result {
            Ok(detail) => Sent {
                outcome: Outcome::Delivered,
                answered: true,
                detail: Some(detail),
                error: None,
                duration,
            },
            Err(f) => Sent {
                outcome: if f.answered {
                    Outcome::Failed {
                        retry_after: f.retry_after,
                    }
                } else {
                    Outcome::Error
                },
                answered: f.answered,
                detail: f.detail,
                error: Some(f.error),
                duration,
            },
        }
    }

    async fn email(
        &self,
        s: &EmailSettings,
        secret: Option<&str>,
        due: &Due,
    ) -> Result<String, Failure> {
        // Connected to the checked address; TLS verifies the configured name.
        let addrs = self
            .guard
            .resolve(&s.host, s.port)
            .await
            .map_err(|r| Failure::error(format!("refused: {r}")))?;
        let ip = addrs[0].ip();
        let mut tls = TlsParameters::builder(s.host.clone());
        if let Some(pem) = &s.ca_certificate {
            let ca = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| Failure::error(format!("the channel's CA certificate: {e}")))?;
            tls = tls.add_root_certificate(ca);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| Failure::error(format!("TLS: {e}")))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(ip.to_string())
            .port(s.port)
            .timeout(Some(self.timeout));
        builder = match s.security {
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls)),
            SmtpSecurity::None if self.allow_insecure => builder.tls(Tls::None),
            SmtpSecurity::None => {
                return Err(Failure::error(
                    "refused: SMTP without TLS is not allowed here",
                ));
            }
        };
        if let (Some(user), Some(password)) = (&s.username, secret) {
            builder = builder.credentials(Credentials::new(user.clone(), password.to_owned()));
        }
        let transport = builder.build();
        let from = Mailbox::new(
            s.from_name.clone(),
            s.from
                .parse()
                .map_err(|e| Failure::error(format!("from: {e}")))?,
        );
        let to: Mailbox = due
            .recipient
            .parse()
            .map_err(|e| Failure::error(format!("recipient: {e}")))?;
        let mut message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(due.subject.clone())
            .date_now()
            .message_id(None)
            .header(AutoSubmitted);
        if let Some(reply_to) = s.reply_to.as_deref().and_then(|r| r.parse().ok()) {
            message = message.reply_to(reply_to);
        }
        let html = due
            .html_body
            .clone()
            .unwrap_or_else(|| due.text_body.clone());
        let message = message
            .multipart(MultiPart::alternative_plain_html(
                due.text_body.clone(),
                html,
            ))
            .map_err(|e| Failure::error(format!("the message: {e}")))?;
        // The whole conversation is bounded, not only each read.
        let sent = tokio::time::timeout(self.timeout, transport.send(message))
            .await
            .map_err(|_| {
                Failure::error(format!("no answer within {} ms", self.timeout.as_millis()))
            })?;
        match sent {
            Ok(reply) => Ok(format!(
                "{} {}",
                reply.code(),
                reply.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => {
                let answered = e.is_transient() || e.is_permanent();
                Err(Failure {
                    answered,
                    retry_after: None,
                    detail: e.status().map(|c| c.to_string()),
                    error: format!("SMTP: {e}"),
                })
            }
        }
    }

    async fn teams(&self, s: &TeamsSettings, due: &Due) -> Result<String, Failure> {
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": due.subject, "weight": "Bolder", "size": "Medium", "wrap": true},
                        {"type": "TextBlock", "text": due.text_body, "wrap": true}
                    ]
                }
            }]
        });
        self.post(&s.webhook_url, |r| r.json(&card)).await
    }

    async fn sms(
        &self,
        s: &SmsSettings,
        secret: Option<&str>,
        due: &Due,
    ) -> Result<String, Failure> {
        let Some(token) = secret else {
            return Err(Failure::error("the channel has no auth token"));
        };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            s.base_url.trim_end_matches('/'),
            s.account_sid
        );
        let body: String = format!("{}\n{}", due.subject, due.text_body)
            .chars()
            .take(SMS_MAX)
            .collect();
        let form = [
            ("To", due.recipient.as_str()),
            ("From", s.from.as_str()),
            ("Body", body.as_str()),
        ];
        self.post(&url, |r| {
            r.basic_auth(&s.account_sid, Some(token)).form(&form)
        })
        .await
    }

    /// A POST to a tenant's URL through the guard; 2xx is success.
    async fn post(
        &self,
        url: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<String, Failure> {
        let url = self
            .guard
            .check_url(url)
            .map_err(|r| Failure::error(format!("refused: {r}")))?;
        let response = build(self.http.post(url))
            .send()
            .await
            .map_err(|e| Failure::error(crate::dispatch::describe(&e, self.timeout)))?;
        let status = response.status();
        let asked = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, Utc::now()));
        let body = response.bytes().await.map(|b| kept(&b)).unwrap_or_default();
        let detail = format!("{} {body}", status.as_u16());
        if status.is_success() {
            Ok(detail)
        } else {
            Err(Failure {
                answered: true,
                retry_after: matches!(status.as_u16(), 429 | 503)
                    .then_some(asked)
                    .flatten(),
                detail: Some(detail),
                error: format!("answered {}", status.as_u16()),
            })
        }
    }
}

struct Failure {
    answered: bool,
    retry_after: Option<Duration>,
    detail: Option<String>,
    error: String,
}

impl Failure {
    fn error(error: impl Into<String>) -> Self {
        Self {
            answered: false,
            retry_after: None,
            detail: None,
            error: error.into(),
        }
    }
}
