//! `notify.channels`: the secret is sealed before it gets here and read
//! back only by the channel dispatcher ([`messages::due`](super::messages::due)).

use psa_events::catalog::EventType;
use psa_http::FieldError;
use psa_kernel::{Deletable, Resource, SortField, SortValue, Tx};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{Channel, ChannelInput, ChannelKind};
use crate::error::NotifyError;
use crate::events;

/// What a write does to the stored secret.
pub enum SecretChange {
    Keep,
    Set(Vec<u8>),
    Clear,
}

impl Resource for Channel {
    type Input = ChannelInput;
    type Error = NotifyError;
    const TABLE: &'static str = "notify.channels";
    const COLUMNS: &'static str = "id, name, kind, settings, secret is not null as has_secret, enabled, \
        version, created_at, updated_at";
    const PATH: &'static str = "/v1/notification-channels";
    const READ: &'static str = crate::NOTIFICATIONS_ADMIN.name;
    const WRITE: &'static str = crate::NOTIFICATIONS_ADMIN.name;
    const CREATED: EventType<Self> = events::CHANNEL_CREATED;
    const UPDATED: EventType<Self> = events::CHANNEL_UPDATED;
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

    fn validate(input: &ChannelInput) -> Result<(), Vec<FieldError>> {
        input.validate()
    }

    /// Not used for channels' writes, which seal the secret first ([`save`]).
    async fn write(
        tx: &mut Tx,
        id: Uuid,
        input: &ChannelInput,
        _existing: Option<&Self>,
    ) -> Result<Self, NotifyError> {
        save(tx, id, input, SecretChange::Keep).await
    }
}

impl Deletable for Channel {
    const DELETED: EventType<Self> = events::CHANNEL_DELETED;

    /// Refused while rules send through it.
    async fn before_delete(tx: &mut Tx, row: &Self) -> Result<(), NotifyError> {
        let rules = sqlx::query_scalar!(
            r#"select count(*) as "n!" from notify.rules where channel_id = $1"#,
            row.id
        )
        .fetch_one(&mut **tx)
        .await?;
        if rules > 0 {
            return Err(NotifyError::ChannelInUse(rules));
        }
        Ok(())
    }
}

/// Writes the channel as new or as its next version.
pub async fn save(
    conn: &mut PgConnection,
    id: Uuid,
    input: &ChannelInput,
    secret: SecretChange,
) -> Result<Channel, NotifyError> {
    let (set, value) = match secret {
        SecretChange::Keep => (false, None),
        SecretChange::Set(v) => (true, Some(v)),
        SecretChange::Clear => (true, None),
    };
    Ok(sqlx::query_as!(
        Channel,
        r#"insert into notify.channels (id, name, kind, settings, secret, enabled)
           values ($1, $2, $3, $4, $6, $7)
           on conflict (tenant_id, id) do update set name = excluded.name, kind = excluded.kind,
               settings = excluded.settings,
               secret = case when $5 then excluded.secret else channels.secret end,
               enabled = excluded.enabled, version = channels.version + 1, updated_at = now()
           returning id, name, kind as "kind: ChannelKind", settings as "settings: Json<serde_json::Value>",
                     secret is not null as "has_secret!", enabled, version, created_at, updated_at"#,
        id,
        input.name.trim(),
        input.kind as ChannelKind,
        input.settings(),
        set,
        value,
        input.enabled
    )
    .fetch_one(conn)
    .await?)
}

/// The kind of a channel of the tenant (None: no such channel).
pub async fn kind_of(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ChannelKind>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select kind as "kind: ChannelKind" from notify.channels where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}
