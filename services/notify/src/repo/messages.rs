//! `notify.messages` and `notify.message_attempts`: what rules make of
//! events (one message per recipient), the channel dispatcher's queue, the
//! recipients' caps and digests, and the channels' logs.

use chrono::{DateTime, Utc};
use psa_events::CloudEvent;
use psa_kernel::{Keyset, Page, PageParams, SortField, SortValue};
use serde::Deserialize;
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use super::projection;
use super::rules;
use crate::domain::message::{MessageAttempt, MessageDetail};
use crate::domain::template;
use crate::domain::webhook::matches;
use crate::domain::{AttemptOutcome, ChannelKind, Message, MessageState, Recipient, Rule};

/// The recipient of a Teams channel's messages (the channel itself).
pub const TEAMS: &str = "teams";

/// How many messages one recipient gets per window before the rest are
/// held for a digest.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    pub messages: i64,
    pub window: chrono::Duration,
}

/// One message per recipient of every enabled rule matching `event` (of
/// the transaction's tenant), rendered now; users who muted the event type
/// are left out, and a recipient over `cap` gets it held for a digest.
/// Returns the messages added (a second fan-out of one event adds none).
pub async fn fan_out(
    conn: &mut PgConnection,
    event: &CloudEvent,
    cap: Cap,
) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    // (rule, its channel's kind, the rule id recorded: none for the built-in one)
    let mut matching: Vec<(Rule, ChannelKind, Option<Uuid>)> = rules::enabled(conn)
        .await?
        .into_iter()
        .filter(|(rule, _)| matches(&rule.event_types, &event.event_type))
        .map(|(rule, kind)| {
            let id = Some(rule.id);
            (rule, kind, id)
        })
        .collect();
    if matching.is_empty()
        && event.event_type == crate::events::WEBHOOK_DISABLED.name
        && let Some((rule, kind)) = admins_by_email(conn).await?
    {
        matching.push((rule, kind, None));
    }
    for (rule, kind, rule_id) in matching {
        let to = projection::recipients(conn, &rule, kind, event).await?;
        if to.is_empty() {
            continue;
        }
        let rendered = template::render(
            rule.subject_template.as_deref(),
            rule.text_template.as_deref(),
            rule.html_template.as_deref(),
            json!({"id": event.id, "type": event.event_type, "time": event.time, "subject": event.subject}),
            &event.data,
        );
        let html = (kind == ChannelKind::Email).then_some(rendered.html.as_str());
        for (recipient, user) in to {
            if let Some(u) = user
                && matches(&projection::muted(conn, u).await?, &event.event_type)
            {
                continue;
            }
            let recent = sqlx::query_scalar!(
                r#"select count(*) as "n!" from notify.messages
                   where channel_id = $1 and recipient = $2 and created_at > now() - $3::interval"#,
                rule.channel_id,
                recipient,
                sqlx::postgres::types::PgInterval::try_from(cap.window).unwrap_or_default()
            )
            .fetch_one(&mut *conn)
            .await?;
            let state = if recent >= cap.messages {
                MessageState::Held
            } else {
                MessageState::Pending
            };
            added += sqlx::query!(
                "insert into notify.messages (id, rule_id, channel_id, event_id, event_type, recipient,
                     user_id, subject, text_body, html_body, state)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 on conflict (tenant_id, channel_id, event_id, recipient) do nothing",
                Uuid::now_v7(),
                rule_id,
                rule.channel_id,
                event.id,
                event.event_type,
                recipient,
                user,
                rendered.subject,
                rendered.text,
                html,
                state as MessageState
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
    }
    Ok(added)
}

/// Where the tenant hears of a webhook the platform disabled when no rule
/// of its own says: the `admin` role, by the tenant's oldest enabled e-mail
/// channel (none: the `webhook.disabled` event is all there is).
async fn admins_by_email(
    conn: &mut PgConnection,
) -> Result<Option<(Rule, ChannelKind)>, sqlx::Error> {
    let channel = sqlx::query!(
        "select id, created_at from notify.channels where kind = 'email' and enabled
         order by created_at, id limit 1"
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(channel.map(|c| {
        (
            Rule {
                id: c.id,
                name: "webhook disabled (built in)".into(),
                event_types: vec![crate::events::WEBHOOK_DISABLED.name.into()],
                channel_id: c.id,
                recipients: Json(vec![Recipient::Role {
                    role: "admin".into(),
                }]),
                subject_template: Some(
                    "A webhook subscription was disabled: {{ data.webhook.url }}".into(),
                ),
                text_template: Some(
                    "The platform disabled the webhook subscription to {{ data.webhook.url }} \
                     ({{ data.webhook.id }}): {{ data.reason }}.\n\nEnable it again \
                     (PATCH /v1/webhooks/{{ data.webhook.id }} {\"enabled\": true}) once the \
                     endpoint answers; its dead letters can be replayed.\n"
                        .into(),
                ),
                html_template: None,
                enabled: true,
                version: 1,
                created_at: c.created_at,
                updated_at: c.created_at,
            },
            ChannelKind::Email,
        )
    }))
}

/// Takes up to `batch` due messages of every tenant, leased for `lease`.
pub async fn claim(
    pool: &PgPool,
    batch: i32,
    lease: std::time::Duration,
) -> Result<Vec<super::deliveries::Claimed>, sqlx::Error> {
    let lease = sqlx::postgres::types::PgInterval::try_from(lease).map_err(sqlx::Error::Encode)?;
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from notify.claim_messages($1, $2)"#,
        batch,
        lease
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| super::deliveries::Claimed {
            tenant: r.tenant_id,
            id: r.id,
        })
        .collect())
}

pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!("select notify.next_message_due()")
        .fetch_one(pool)
        .await
}

/// A pending message with its channel.
#[derive(Debug)]
pub struct Due {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub kind: ChannelKind,
    pub settings: Json<serde_json::Value>,
    pub secret: Option<Vec<u8>>,
    pub enabled: bool,
    pub event_id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    pub round_attempts: i32,
}

pub async fn due(conn: &mut PgConnection, id: Uuid) -> Result<Option<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"select m.id, m.channel_id, c.kind as "kind: ChannelKind",
                  c.settings as "settings: Json<serde_json::Value>", c.secret, c.enabled,
                  m.event_id, m.recipient, m.subject, m.text_body, m.html_body, m.round_attempts
           from notify.messages m join notify.channels c on c.id = m.channel_id
           where m.id = $1 and m.state = 'pending'"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Records an attempt and moves the message on (releasing its lease).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut PgConnection,
    due: &Due,
    outcome: AttemptOutcome,
    detail: Option<&str>,
    duration_ms: i32,
    error: Option<&str>,
    after: super::deliveries::After,
) -> Result<(), sqlx::Error> {
    use super::deliveries::After;
    sqlx::query!(
        "insert into notify.message_attempts (id, message_id, channel_id, outcome, detail, duration_ms, error)
         values ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::now_v7(),
        due.id,
        due.channel_id,
        outcome as AttemptOutcome,
        detail,
        duration_ms,
        error
    )
    .execute(&mut *conn)
    .await?;
    let (state, next) = match after {
        After::Delivered => (MessageState::Sent, None),
        After::Retry(at) => (MessageState::Pending, Some(at)),
        After::Dead => (MessageState::Dead, None),
    };
    sqlx::query!(
        "update notify.messages set state = $2, round_attempts = round_attempts + 1,
             attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at),
             leased_until = null, last_error = $4, updated_at = now(),
             finished_at = case when $2 = 'pending' then null else now() end
         where id = $1",
        due.id,
        state as MessageState,
        next,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn release(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notify.messages set leased_until = null where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Recipients (of every tenant) with held messages: (tenant, channel, recipient).
pub async fn held(pool: &PgPool) -> Result<Vec<(Uuid, Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", channel_id as "channel_id!", recipient as "recipient!"
           from notify.held_recipients()"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.tenant_id, r.channel_id, r.recipient))
        .collect())
}

/// Folds the recipient's held messages into one digest message (pending);
/// returns how many were folded.
pub async fn digest(
    conn: &mut PgConnection,
    channel: Uuid,
    recipient: &str,
) -> Result<usize, sqlx::Error> {
    let held = sqlx::query!(
        "select id, event_type, subject, user_id, created_at from notify.messages
         where channel_id = $1 and recipient = $2 and state = 'held'
         order by created_at, id for update",
        channel,
        recipient
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = held.first() else {
        return Ok(0);
    };
    let subject = format!("{} notifications", held.len());
    let mut text = format!("{subject} while you were receiving many:\n");
    let mut html = format!("<!DOCTYPE html><html><body><h2>{subject}</h2><ul>");
    for m in &held {
        text.push_str(&format!(
            "\n{}  {}",
            m.created_at.format("%Y-%m-%d %H:%M UTC"),
            m.subject
        ));
        html.push_str(&format!(
            "<li>{} {}</li>",
            m.created_at.format("%Y-%m-%d %H:%M UTC"),
            escape(&m.subject)
        ));
    }
    html.push_str("</ul></body></html>");
    let ids: Vec<Uuid> = held.iter().map(|m| m.id).collect();
    sqlx::query!(
        "insert into notify.messages (id, channel_id, event_id, event_type, recipient, user_id,
             subject, text_body, html_body)
         values ($1, $2, $3, 'notify.digest', $4, $5, $6, $7, $8)",
        Uuid::now_v7(),
        channel,
        Uuid::now_v7(),
        recipient,
        first.user_id,
        subject,
        text,
        html
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update notify.messages set state = 'digested', finished_at = now(), updated_at = now()
         where id = any($1)",
        &ids
    )
    .execute(conn)
    .await?;
    Ok(held.len())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One message of a channel with its attempts (None: no such message there).
pub async fn detail(
    conn: &mut PgConnection,
    channel: Uuid,
    id: Uuid,
) -> Result<Option<MessageDetail>, sqlx::Error> {
    let message = sqlx::query_as!(
        Message,
        r#"select id, rule_id, channel_id, event_id, event_type, recipient, user_id, subject,
                  state as "state: MessageState", attempts, last_error, created_at, updated_at, finished_at
           from notify.messages where id = $1 and channel_id = $2"#,
        id,
        channel
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(message) = message else {
        return Ok(None);
    };
    let attempts_made = sqlx::query_as!(
        MessageAttempt,
        r#"select id, outcome as "outcome: AttemptOutcome", detail, duration_ms, error, attempted_at
           from notify.message_attempts where message_id = $1 order by attempted_at, id"#,
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(MessageDetail {
        message,
        attempts_made,
    }))
}

pub const SORTS: &[SortField] = &[SortField::CREATED_AT, SortField::UPDATED_AT];

/// What a channel's message log filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageFilters {
    pub state: Option<MessageState>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 100>")]
    #[param(schema_with = psa_http::formats::line::<100>)]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "psa_http::formats::query_line::<_, 320>")]
    #[param(schema_with = psa_http::formats::line::<320>)]
    pub recipient: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

pub async fn list(
    conn: &mut PgConnection,
    channel: Uuid,
    f: &MessageFilters,
    keyset: &Keyset,
) -> Result<Page<Message>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, rule_id, channel_id, event_id, event_type, recipient, user_id, subject, state,
                attempts, last_error, created_at, updated_at, finished_at
         from notify.messages where channel_id = ",
    );
    qb.push_bind(channel);
    if let Some(s) = f.state {
        qb.push(" and state = ").push_bind(s);
    }
    if let Some(t) = &f.event_type {
        qb.push(" and event_type = ").push_bind(t.clone());
    }
    if let Some(r) = &f.recipient {
        qb.push(" and recipient = ").push_bind(r.clone());
    }
    keyset
        .fetch(conn, qb, |m: &Message, field| {
            let at = if field == "updated_at" {
                m.updated_at
            } else {
                m.created_at
            };
            (SortValue::Time(at), m.id)
        })
        .await
}
