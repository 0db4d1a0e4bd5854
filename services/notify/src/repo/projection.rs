//! What notify knows of users (auth) and contacts (CRM), from their
//! events: whom a rule's recipients name. Older versions than the ones
//! kept are ignored.

use std::collections::BTreeMap;

use psa_events::CloudEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::rule::{public_comment, ticket_of};
use crate::domain::{ChannelKind, Recipient, Rule};
use crate::repo::messages::TEAMS;

pub async fn upsert_user(
    conn: &mut PgConnection,
    user: &psa_auth::domain::user::User,
) -> Result<(), sqlx::Error> {
    let active = user.status == psa_auth::domain::user::UserStatus::Active;
    sqlx::query!(
        "insert into notify.users (id, email, name, roles, active, version)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (tenant_id, id) do update set email = excluded.email, name = excluded.name,
             roles = excluded.roles, active = excluded.active, version = excluded.version
         where users.version < excluded.version",
        user.id,
        user.email,
        user.name,
        &user.roles,
        active,
        user.version
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn upsert_contact(
    conn: &mut PgConnection,
    contact: &psa_crm::domain::Contact,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into notify.contacts (id, name, email, phone, deleted, version)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (tenant_id, id) do update set name = excluded.name, email = excluded.email,
             phone = excluded.phone, deleted = excluded.deleted, version = excluded.version
         where contacts.version < excluded.version or (excluded.deleted and not contacts.deleted)",
        contact.id,
        contact.name,
        contact.email,
        contact.phone,
        deleted,
        contact.version
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An active user's e-mail address.
pub async fn user_email(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select email from notify.users where id = $1 and active",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Every active user with `role`: (id, e-mail).
pub async fn users_with_role(
    conn: &mut PgConnection,
    role: &str,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select id, email from notify.users where active and roles @> array[$1]::text[] order by id",
        role
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.email)).collect())
}

/// A contact's e-mail address and phone number (None when deleted or unknown).
pub async fn contact(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Option<String>, Option<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        "select email, phone from notify.contacts where id = $1 and not deleted",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.email, r.phone)))
}

/// The event types a user muted (empty when they set none).
pub async fn muted(conn: &mut PgConnection, user: Uuid) -> Result<Vec<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "select muted_event_types from notify.preferences where user_id = $1",
        user
    )
    .fetch_optional(conn)
    .await?
    .unwrap_or_default())
}

/// Who `rule`'s recipients are for `event`: (address or number, user).
pub async fn recipients(
    conn: &mut PgConnection,
    rule: &Rule,
    kind: ChannelKind,
    event: &CloudEvent,
) -> Result<BTreeMap<String, Option<Uuid>>, sqlx::Error> {
    let mut to = BTreeMap::new();
    if kind == ChannelKind::Teams {
        to.insert(TEAMS.to_owned(), None);
        return Ok(to);
    }
    let email = kind == ChannelKind::Email;
    for r in rule.recipients.iter() {
        match r {
            Recipient::Address { address } if email => {
                to.insert(address.trim().to_owned(), None);
            }
            Recipient::Phone { number } if !email => {
                to.insert(number.clone(), None);
            }
            // Users have no phone numbers: users reach e-mail channels only.
            Recipient::User { user_id } if email => {
                if let Some(a) = user_email(conn, *user_id).await? {
                    to.insert(a, Some(*user_id));
                }
            }
            Recipient::Role { role } if email => {
                for (id, a) in users_with_role(conn, role).await? {
                    to.insert(a, Some(id));
                }
            }
            Recipient::TicketAssignee if email => {
                let assignee = ticket_of(event)
                    .and_then(|t| t.assignee_id)
                    .and_then(|a| Uuid::parse_str(&a).ok());
                if let Some(id) = assignee
                    && let Some(a) = user_email(conn, id).await?
                {
                    to.insert(a, Some(id));
                }
            }
            Recipient::CustomerContact if public_comment(event) => {
                let contact_id = ticket_of(event).and_then(|t| t.contact_id);
                if let Some(id) = contact_id
                    && let Some((address, phone)) = contact(conn, id).await?
                    && let Some(a) = if email { address } else { phone }
                {
                    to.insert(a, None);
                }
            }
            _ => {}
        }
    }
    Ok(to)
}
