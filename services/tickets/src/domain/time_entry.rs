//! Time booked on a ticket. While billing has it invoiced (its
//! `billable_item.updated` events), `billed_at` is set and the entry is
//! frozen.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct TimeEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub user_id: String,
    pub started_at: DateTime<Utc>,
    pub minutes: i32,
    pub description: Option<String>,
    pub billable: bool,
    pub work_type: Option<String>,
    /// When billing invoiced it; while set, the entry cannot change.
    pub billed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TimeEntry {
    pub fn is_billed(&self) -> bool {
        self.billed_at.is_some()
    }
}

/// What POST takes and what a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryInput {
    pub started_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i32,
    #[schema(schema_with = formats::opt_prose::<10000>)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub billable: bool,
    #[schema(schema_with = formats::opt_line::<100>)]
    pub work_type: Option<String>,
}

fn yes() -> bool {
    true
}

impl TimeEntryInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if !(1..=1440).contains(&self.minutes) {
            e.add("minutes", "1 to 1440");
        }
        e.instant("started_at", Some(self.started_at));
        e.opt_prose("description", self.description.as_deref(), 10_000);
        e.opt_text("work_type", self.work_type.as_deref(), 100);
        e.finish()
    }
}

impl From<&TimeEntry> for TimeEntryInput {
    fn from(e: &TimeEntry) -> Self {
        Self {
            started_at: e.started_at,
            minutes: e.minutes,
            description: e.description.clone(),
            billable: e.billable,
            work_type: e.work_type.clone(),
        }
    }
}
