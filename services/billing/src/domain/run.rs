//! Invoice runs: a period (and optionally some customers) in, one draft
//! per customer and currency out, customer by customer in transactions of
//! their own, so a run over thousands of customers shows its progress and
//! a restart carries on where it stopped.

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::FieldError;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
}

/// The billing period: whole days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: NaiveDate,
    /// Not before `from`, at most 366 days after it.
    pub to: NaiveDate,
}

/// At most this many customers named in one run.
pub const CUSTOMERS_MAX: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRun {
    pub period: Period,
    /// Only these customers (default: every customer with a contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 1000)]
    pub customer_ids: Option<Vec<Uuid>>,
}

impl NewRun {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.date("period.from", Some(self.period.from));
        e.date("period.to", Some(self.period.to));
        let days = (self.period.to - self.period.from).num_days();
        if days < 0 {
            e.add_code(
                "period.to",
                "inconsistent",
                "must not be before period.from",
            );
        } else if days > 366 {
            e.add_code("period.to", "out_of_range", "a run covers at most 367 days");
        }
        if let Some(ids) = &self.customer_ids
            && (ids.is_empty() || ids.len() > CUSTOMERS_MAX)
        {
            e.add("customer_ids", "1 to 1000 customers");
        }
        e.finish()
    }
}

/// A customer the run could not bill, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunProblem {
    pub customer_id: Uuid,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvoiceRun {
    pub id: Uuid,
    pub period: Period,
    pub customer_ids: Option<Vec<Uuid>>,
    pub status: RunStatus,
    /// Customers the run goes through.
    pub customers_total: i64,
    /// Customers done (billed, nothing to bill, or failed).
    pub customers_done: i64,
    /// Drafts made: list them with `GET /v1/invoices?run_id=`.
    pub invoices_created: i64,
    /// Customers that could not be billed, and notes on what was left out
    /// (e.g. time on a contract without an hourly rate).
    pub problems: Vec<RunProblem>,
    pub created_by: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
