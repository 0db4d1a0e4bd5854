//! Tickets, their comments and time entries.

use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use serde::Deserialize;
use uuid::Uuid;

use super::assets::Asset;
use super::crm::{Contact, Customer};
use super::scalars::DateTime;
use super::{TicketPriority, TicketStatus, TicketType, Visibility, paths};
use crate::graphql::page::{Conn, Paging, children, filter, maybe, one};

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Ticket {
    pub id: Uuid,
    /// The tenant's ticket number (`T-000123`).
    pub number: String,
    pub title: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub ticket_type: TicketType,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub queue: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub response_due_at: Option<DateTime>,
    pub resolution_due_at: Option<DateTime>,
    pub first_response_at: Option<DateTime>,
    pub resolved_at: Option<DateTime>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[ComplexObject]
impl Ticket {
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        one(ctx, paths::CUSTOMERS, "customer", self.customer_id).await
    }

    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        maybe(ctx, paths::CONTACTS, "contact", self.contact_id).await
    }

    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<Asset>> {
        maybe(ctx, paths::ASSETS, "asset", self.asset_id).await
    }

    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        visibility: Option<Visibility>,
    ) -> Result<Option<Conn<Comment>>> {
        let mut q = Vec::new();
        filter(&mut q, "visibility", &visibility);
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::COMMENTS, "ticket_id", self.id, &q, &p)
            .await
            .map(Some)
    }

    async fn time_entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<Conn<TimeEntry>>> {
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::TIME_ENTRIES, "ticket_id", self.id, &[], &p)
            .await
            .map(Some)
    }
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// Who wrote it (the token's subject).
    pub author: String,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime,
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct TimeEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub user_id: String,
    pub started_at: DateTime,
    pub minutes: i32,
    pub billable: bool,
    pub work_type: Option<String>,
    pub description: Option<String>,
    pub billed_at: Option<DateTime>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}
