//! Comments on a ticket: internal notes, or answers the customer sees.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::ticket::Ticket;

pub const BODY_MAX: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author: String,
    /// The first public comment is the ticket's first response.
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Who sees a comment: staff only, or the customer too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Visibility {
    Internal,
    Public,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    #[schema(schema_with = formats::prose::<100000>)]
    pub body: String,
    #[serde(default = "internal")]
    pub visibility: Visibility,
}

fn internal() -> Visibility {
    Visibility::Internal
}

impl NewComment {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.prose("body", &self.body, BODY_MAX);
        e.finish()
    }

    /// Whether this comment answers the customer for the first time.
    pub fn is_first_response(&self, ticket: &Ticket) -> bool {
        self.visibility == Visibility::Public && ticket.first_response_at.is_none()
    }
}
