//! Tickets: their fields, the rules a ticket's fields follow and the status
//! workflow.

use chrono::{DateTime, Utc};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    InProgress,
    Waiting,
    Resolved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Waiting => "waiting",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// The workflow: new → open → in_progress ⇄ waiting → resolved → closed,
    /// and reopening from resolved or closed.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Status::New => &[Status::Open],
            Status::Open => &[Status::InProgress],
            Status::InProgress => &[Status::Waiting, Status::Resolved],
            Status::Waiting => &[Status::InProgress],
            Status::Resolved => &[Status::Closed, Status::Open],
            Status::Closed => &[Status::Open],
        }
    }

    pub fn can_become(self, next: Status) -> bool {
        self == next || self.allowed_next().contains(&next)
    }

    /// `next` if the workflow allows it from here (staying is always allowed).
    pub fn transition(self, next: Status) -> Result<Status, IllegalTransition> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }
}

/// A status change the workflow does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: Status,
    pub to: Status,
}

impl std::fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed: Vec<&str> = self
            .from
            .allowed_next()
            .iter()
            .map(|s| s.as_str())
            .collect();
        write!(
            f,
            "a {} ticket cannot become {}; allowed: {}",
            self.from.as_str(),
            self.to.as_str(),
            allowed.join(", ")
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TicketType {
    Incident,
    ServiceRequest,
    Problem,
    Change,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Ticket {
    pub id: Uuid,
    /// Per tenant: `T-000123`.
    pub number: String,
    pub title: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub status: Status,
    pub queue: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// The contract whose SLA terms set the due times.
    pub contract_id: Option<Uuid>,
    pub response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    #[schema(schema_with = formats::line::<300>)]
    pub title: String,
    #[schema(schema_with = formats::opt_prose::<100000>)]
    pub description: Option<String>,
    #[serde(rename = "type", default = "incident")]
    pub ticket_type: TicketType,
    #[serde(default = "medium")]
    pub priority: Priority,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    #[schema(schema_with = formats::opt_line::<100>)]
    pub queue: Option<String>,
    #[schema(schema_with = formats::opt_line::<200>)]
    pub assignee_id: Option<String>,
    /// At most 50 distinct tags of 1-50 characters.
    #[serde(default)]
    /// At most 50 distinct tags of 1-50 characters.
    #[schema(schema_with = formats::lines::<50, 50>)]
    pub tags: Vec<String>,
}

impl NewTicket {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        validate_fields(
            &self.title,
            self.description.as_deref(),
            self.queue.as_deref(),
            self.assignee_id.as_deref(),
            &self.tags,
        )
    }
}

/// A ticket's number from the tenant's counter: `T-000123`.
pub fn number(n: i64) -> String {
    format!("T-{n:06}")
}

fn incident() -> TicketType {
    TicketType::Incident
}
fn medium() -> Priority {
    Priority::Medium
}

/// The fields a merge patch may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[schema(schema_with = formats::line::<300>)]
    pub title: String,
    #[schema(schema_with = formats::opt_prose::<100000>)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub status: Status,
    #[schema(schema_with = formats::opt_line::<100>)]
    pub queue: Option<String>,
    #[schema(schema_with = formats::opt_line::<200>)]
    pub assignee_id: Option<String>,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    /// At most 50 distinct tags of 1-50 characters.
    #[schema(schema_with = formats::lines::<50, 50>)]
    pub tags: Vec<String>,
}

impl TicketPatch {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        validate_fields(
            &self.title,
            self.description.as_deref(),
            self.queue.as_deref(),
            self.assignee_id.as_deref(),
            &self.tags,
        )
    }
}

impl From<&Ticket> for TicketPatch {
    fn from(t: &Ticket) -> Self {
        Self {
            title: t.title.clone(),
            description: t.description.clone(),
            ticket_type: t.ticket_type,
            priority: t.priority,
            status: t.status,
            queue: t.queue.clone(),
            assignee_id: t.assignee_id.clone(),
            contact_id: t.contact_id,
            asset_id: t.asset_id,
            tags: t.tags.clone(),
        }
    }
}

/// The field checks of a ticket, every bad field reported at once.
fn validate_fields(
    title: &str,
    description: Option<&str>,
    queue: Option<&str>,
    assignee_id: Option<&str>,
    tags: &[String],
) -> Result<(), Vec<FieldError>> {
    let mut e = FieldErrors::default();
    e.text("title", title, 300);
    e.opt_prose("description", description, 100_000);
    e.opt_text("queue", queue, 100);
    e.opt_text("assignee_id", assignee_id, 200);
    let distinct: std::collections::BTreeSet<&str> = tags.iter().map(String::as_str).collect();
    if tags.len() > 50 || distinct.len() != tags.len() {
        e.add("tags", "at most 50 distinct tags");
    }
    for (i, tag) in tags.iter().enumerate() {
        e.text(&format!("tags[{i}]"), tag, 50);
    }
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ticket(body: serde_json::Value) -> NewTicket {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn every_bad_field_is_reported() {
        let customer = Uuid::now_v7();
        let ok = new_ticket(
            serde_json::json!({"title": "Printer", "customer_id": customer, "tags": ["a", "b"]}),
        );
        assert!(ok.validate().is_ok());
        let bad = new_ticket(serde_json::json!({
            "title": "  ", "customer_id": customer, "description": "x".repeat(100_001),
            "queue": "", "assignee_id": " ", "tags": ["a", "a"],
        }));
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["title", "description", "queue", "assignee_id", "tags"]
        );
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        let too_many =
            new_ticket(serde_json::json!({"title": "x", "customer_id": customer, "tags": many}));
        assert!(too_many.validate().is_err());
    }

    #[test]
    fn workflow() {
        assert!(Status::New.can_become(Status::Open));
        assert!(!Status::New.can_become(Status::Closed));
        assert!(Status::InProgress.can_become(Status::Waiting));
        assert!(Status::Waiting.can_become(Status::InProgress));
        assert!(Status::Resolved.can_become(Status::Open), "reopen");
        assert!(Status::Closed.can_become(Status::Open), "reopen");
        assert!(!Status::Closed.can_become(Status::InProgress));
        let err = Status::New.transition(Status::Closed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a new ticket cannot become closed; allowed: open"
        );
        assert_eq!(
            Status::Waiting.transition(Status::Waiting),
            Ok(Status::Waiting)
        );
    }
}
