//! `notify.rules`.

use std::collections::HashMap;

use psa_events::catalog::EventType;
use psa_http::{FieldError, Problem};
use psa_kernel::{Deletable, Resource, SortField, SortValue, Tx};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::{ChannelKind, Recipient, Rule, RuleInput};
use crate::error::NotifyError;
use crate::events;
use crate::repo::channels;

impl Resource for Rule {
    type Input = RuleInput;
    type Error = NotifyError;
    const TABLE: &'static str = "notify.rules";
    const COLUMNS: &'static str = "id, name, event_types, channel_id, recipients, subject_template, \
        text_template, html_template, enabled, version, created_at, updated_at";
    const PATH: &'static str = "/v1/notification-rules";
    const READ: &'static str = crate::NOTIFICATIONS_ADMIN.name;
    const WRITE: &'static str = crate::NOTIFICATIONS_ADMIN.name;
    const CREATED: EventType<Self> = events::RULE_CREATED;
    const UPDATED: EventType<Self> = events::RULE_UPDATED;
    const SORTS: &'static [SortField] = &psa_kernel::resource::BY_TIME_OR_NAME;
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        psa_kernel::resource::time_or_name(field, &self.name, self.created_at, self.updated_at)
    }

    fn validate(input: &RuleInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    /// 422 `not_found` for a channel the tenant does not have, `incompatible`
    /// for recipients its kind cannot reach.
    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &RuleInput,
        _existing: Option<&Self>,
    ) -> Result<Self, NotifyError> {
        let Some(kind) = channels::kind_of(tx, input.channel_id).await? else {
            return Err(Problem::validation(vec![FieldError::with_code(
                "channel_id",
                "not_found",
                "no such notification channel",
            )])
            .into());
        };
        input.check_kind(kind).map_err(NotifyError::Validation)?;
        save(tx, id, input).await
    }
}

impl Deletable for Rule {
    const DELETED: EventType<Self> = events::RULE_DELETED;
}

async fn save(conn: &mut PgConnection, id: Uuid, input: &RuleInput) -> Result<Rule, NotifyError> {
    Ok(sqlx::query_as!(
        Rule,
        r#"insert into notify.rules (id, name, event_types, channel_id, recipients, subject_template,
               text_template, html_template, enabled)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict (tenant_id, id) do update set name = excluded.name,
               event_types = excluded.event_types, channel_id = excluded.channel_id,
               recipients = excluded.recipients, subject_template = excluded.subject_template,
               text_template = excluded.text_template, html_template = excluded.html_template,
               enabled = excluded.enabled, version = rules.version + 1, updated_at = now()
           returning id, name, event_types, channel_id, recipients as "recipients: Json<Vec<Recipient>>",
                     subject_template, text_template, html_template, enabled, version, created_at, updated_at"#,
        id,
        input.name.trim(),
        &input.event_types,
        input.channel_id,
        Json(&input.recipients) as _,
        input.subject_template.as_deref(),
        input.text_template.as_deref(),
        input.html_template.as_deref(),
        input.enabled
    )
    .fetch_one(conn)
    .await?)
}

/// The tenant's enabled rules of enabled channels, each with its channel's
/// kind (for the fan-out).
pub async fn enabled(conn: &mut PgConnection) -> Result<Vec<(Rule, ChannelKind)>, sqlx::Error> {
    let rules = sqlx::query_as!(
        Rule,
        r#"select r.id, r.name, r.event_types, r.channel_id,
                  r.recipients as "recipients: Json<Vec<Recipient>>",
                  r.subject_template, r.text_template, r.html_template, r.enabled, r.version,
                  r.created_at, r.updated_at
           from notify.rules r join notify.channels c on c.id = r.channel_id
           where r.enabled and c.enabled"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let kinds: HashMap<Uuid, ChannelKind> = sqlx::query!(
        r#"select id, kind as "kind: ChannelKind" from notify.channels where enabled"#
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|c| (c.id, c.kind))
    .collect();
    Ok(rules
        .into_iter()
        .filter_map(|rule| kinds.get(&rule.channel_id).map(|kind| (rule, *kind)))
        .collect())
}

/// What the rule list filters by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleFilters {
    pub channel_id: Option<Uuid>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: psa_kernel::PageParams,
}

impl RuleFilters {
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(c) = self.channel_id {
            qb.push(" and channel_id = ").push_bind(c);
        }
    }
}
