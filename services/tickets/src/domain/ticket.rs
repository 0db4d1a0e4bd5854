use chrono::{DateTime, Utc};
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

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
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
    pub title: String,
    pub description: Option<String>,
    #[serde(rename = "type", default = "incident")]
    pub ticket_type: TicketType,
    #[serde(default = "medium")]
    pub priority: Priority,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub queue: Option<String>,
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn incident() -> TicketType {
    TicketType::Incident
}
fn medium() -> Priority {
    Priority::Medium
}

/// The fields a merge patch may change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub title: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    pub priority: Priority,
    pub status: Status,
    pub queue: Option<String>,
    pub assignee_id: Option<String>,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub tags: Vec<String>,
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

pub fn check_title(title: &str) -> Result<(), psa_http::FieldError> {
    if title.trim().is_empty() || title.chars().count() > 300 {
        Err(psa_http::FieldError::new("title", "1-300 characters"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow() {
        assert!(Status::New.can_become(Status::Open));
        assert!(!Status::New.can_become(Status::Closed));
        assert!(Status::InProgress.can_become(Status::Waiting));
        assert!(Status::Waiting.can_become(Status::InProgress));
        assert!(Status::Resolved.can_become(Status::Open), "reopen");
        assert!(Status::Closed.can_become(Status::Open), "reopen");
        assert!(!Status::Closed.can_become(Status::InProgress));
    }
}
