//! `notify.webhooks`: the secret is sealed before it gets here and read back
//! only by the dispatcher ([`deliveries::due`](super::deliveries::due)).

use chrono::{DateTime, Utc};
use psa_events::catalog::EventType;
use psa_http::{FieldError, Problem};
use psa_kernel::{Deletable, Resource, SortField, SortValue, Tx};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Webhook, WebhookInput};
use crate::error::NotifyError;
use crate::events;

const SORTS: [SortField; 2] = [SortField::CREATED_AT, SortField::UPDATED_AT];

impl Resource for Webhook {
    type Input = WebhookInput;
    type Error = NotifyError;
    const TABLE: &'static str = "notify.webhooks";
    const COLUMNS: &'static str = "id, url, event_types, enabled, description, disabled_reason, \
        failing_since, case when previous_until > now() then previous_until end as previous_secret_expires_at, \
        catch_up_from as catching_up_since, version, created_at, updated_at";
    const PATH: &'static str = "/v1/webhooks";
    const READ: &'static str = crate::WEBHOOKS_ADMIN.name;
    const WRITE: &'static str = crate::WEBHOOKS_ADMIN.name;
    const CREATED: EventType<Self> = events::WEBHOOK_CREATED;
    const UPDATED: EventType<Self> = events::WEBHOOK_UPDATED;
    const SORTS: &'static [SortField] = &SORTS;
    const DEFAULT_SORT: SortField = SortField::CREATED_AT;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn sort_value(&self, field: &str) -> SortValue {
        match field {
            "updated_at" => SortValue::Time(self.updated_at),
            _ => SortValue::Time(self.created_at),
        }
    }

    fn validate(input: &WebhookInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    /// Updates only: a subscription is created with its secret ([`insert`]).
    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &WebhookInput,
        existing: Option<&Self>,
    ) -> Result<Self, NotifyError> {
        if existing.is_none() {
            return Err(Problem::internal(&std::io::Error::other(
                "a webhook is created with its secret",
            ))
            .into());
        }
        update(tx, id, input).await
    }
}

impl Deletable for Webhook {
    const DELETED: EventType<Self> = events::WEBHOOK_DELETED;
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    input: &WebhookInput,
    sealed_secret: &[u8],
    catch_up_from: Option<DateTime<Utc>>,
) -> Result<Webhook, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"insert into notify.webhooks (id, url, event_types, enabled, description, secret, catch_up_from)
           values ($1, $2, $3, $4, $5, $6, $7)
           returning id, url, event_types, enabled, description, disabled_reason, failing_since,
                     null::timestamptz as previous_secret_expires_at,
                     catch_up_from as catching_up_since, version, created_at, updated_at"#,
        id,
        input.url.trim(),
        &input.event_types,
        input.enabled,
        input.description.as_deref(),
        sealed_secret,
        catch_up_from
    )
    .fetch_one(conn)
    .await
}

/// The next version. Enabling by hand clears why it was disabled and the
/// failure streak (the endpoint gets a fresh five days).
async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    input: &WebhookInput,
) -> Result<Webhook, NotifyError> {
    Ok(sqlx::query_as!(
        Webhook,
        r#"update notify.webhooks set url = $2, event_types = $3, enabled = $4, description = $5,
               disabled_reason = case when $4 then null else disabled_reason end,
               failing_since = case when $4 and not enabled then null else failing_since end,
               version = version + 1, updated_at = now()
           where id = $1
           returning id, url, event_types, enabled, description, disabled_reason, failing_since,
                     case when previous_until > now() then previous_until end as previous_secret_expires_at,
                     catch_up_from as catching_up_since, version, created_at, updated_at"#,
        id,
        input.url.trim(),
        &input.event_types,
        input.enabled,
        input.description.as_deref(),
    )
    .fetch_one(conn)
    .await?)
}

/// Replaces the secret; the old one signs beside it until `grace_until`.
pub async fn rotate(
    conn: &mut PgConnection,
    id: Uuid,
    sealed_secret: &[u8],
    grace_until: DateTime<Utc>,
) -> Result<Webhook, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"update notify.webhooks set previous_secret = secret, previous_until = $3, secret = $2,
               version = version + 1, updated_at = now()
           where id = $1
           returning id, url, event_types, enabled, description, disabled_reason, failing_since,
                     previous_until as previous_secret_expires_at,
                     catch_up_from as catching_up_since, version, created_at, updated_at"#,
        id,
        sealed_secret,
        grace_until
    )
    .fetch_one(conn)
    .await
}

/// Disables an enabled subscription with `reason`; None if it was not enabled.
pub async fn disable(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"update notify.webhooks set enabled = false, disabled_reason = $2,
               version = version + 1, updated_at = now()
           where id = $1 and enabled
           returning id, url, event_types, enabled, description, disabled_reason, failing_since,
                     case when previous_until > now() then previous_until end as previous_secret_expires_at,
                     catch_up_from as catching_up_since, version, created_at, updated_at"#,
        id,
        reason
    )
    .fetch_optional(conn)
    .await
}

/// Keeps the failure streak: a success ends it, a failure starts it if none runs.
pub async fn note_outcome(
    conn: &mut PgConnection,
    id: Uuid,
    delivered: bool,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notify.webhooks set failing_since = case when $2 then null else coalesce(failing_since, $3) end
         where id = $1 and case when $2 then failing_since is not null else failing_since is null end",
        id,
        delivered,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the subscription exists and is enabled (None: not the tenant's).
pub async fn enabled(conn: &mut PgConnection, id: Uuid) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!("select enabled from notify.webhooks where id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Subscriptions (of every tenant) whose every delivery failed since before `cutoff`.
pub async fn failing(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from notify.failing_webhooks($1)"#,
        cutoff
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.id)).collect())
}

/// Subscriptions (of every tenant) still catching up from the archive.
pub async fn catching_up(pool: &PgPool) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select tenant_id as "tenant_id!", id as "id!" from notify.pending_catch_ups()"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.id)).collect())
}

/// A subscription's catch-up: where it starts and which types it wants.
pub async fn catch_up_of(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>, Vec<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select catch_up_from as "from!", created_at, event_types from notify.webhooks
           where id = $1 and enabled and catch_up_from is not null"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.from, r.created_at, r.event_types)))
}

pub async fn caught_up(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notify.webhooks set catch_up_from = null where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}
