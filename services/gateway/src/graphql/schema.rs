//! The roots: what a staff tool starts from, and the two mutations that
//! prove the write path (each idempotent by its `clientMutationId`, which
//! becomes the module's `Idempotency-Key`).

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, InputObject, Object, Result, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::downstream::{Downstream, Failure};
use super::page::{Conn, Paging, filter, list, nodes, one};
use super::types::assets::{Asset, License};
use super::types::billing::Invoice;
use super::types::crm::{Contract, Customer};
use super::types::tickets::{Comment, Ticket};
use super::types::{
    AssetStatus, CustomerStatus, InvoiceStatus, TicketPriority, TicketStatus, TicketType,
    Visibility, paths,
};

pub type PsaSchema = async_graphql::Schema<Query, Mutation, EmptySubscription>;

pub struct Query;

/// What the customer list filters by.
#[derive(Debug, Default, InputObject)]
pub struct CustomerFilter {
    pub status: Option<CustomerStatus>,
    /// A case-insensitive part of the name.
    pub q: Option<String>,
    pub customer_number: Option<String>,
}

/// What the ticket list filters by.
#[derive(Debug, Default, InputObject)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub customer_id: Option<Uuid>,
    pub assignee_id: Option<String>,
    pub queue: Option<String>,
}

/// What the asset list filters by.
#[derive(Debug, Default, InputObject)]
pub struct AssetFilter {
    pub customer_id: Option<Uuid>,
    /// An asset type's key.
    #[graphql(name = "type")]
    pub asset_type: Option<String>,
    pub status: Option<AssetStatus>,
}

/// What the invoice list filters by.
#[derive(Debug, Default, InputObject)]
pub struct InvoiceFilter {
    pub customer_id: Option<Uuid>,
    pub status: Option<InvoiceStatus>,
}

#[Object]
impl Query {
    async fn customer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Customer>> {
        one(ctx, paths::CUSTOMERS, "customer", id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CustomerFilter>,
    ) -> Result<Option<Conn<Customer>>> {
        let f = filter.unwrap_or_default();
        let mut q = Vec::new();
        self::filter(&mut q, "status", &f.status);
        self::filter(&mut q, "q", &f.q);
        self::filter(&mut q, "customer_number", &f.customer_number);
        let p = Paging::new(first, after, last, before);
        list(ctx, paths::CUSTOMERS, &q, &p).await.map(Some)
    }

    async fn ticket(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Ticket>> {
        one(ctx, paths::TICKETS, "ticket", id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TicketFilter>,
    ) -> Result<Option<Conn<Ticket>>> {
        let f = filter.unwrap_or_default();
        let mut q = Vec::new();
        self::filter(&mut q, "status", &f.status);
        self::filter(&mut q, "priority", &f.priority);
        self::filter(&mut q, "customer_id", &f.customer_id);
        self::filter(&mut q, "assignee_id", &f.assignee_id);
        self::filter(&mut q, "queue", &f.queue);
        let p = Paging::new(first, after, last, before);
        list(ctx, paths::TICKETS, &q, &p).await.map(Some)
    }

    async fn asset(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Asset>> {
        one(ctx, paths::ASSETS, "asset", id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn assets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AssetFilter>,
    ) -> Result<Option<Conn<Asset>>> {
        let f = filter.unwrap_or_default();
        let mut q = Vec::new();
        self::filter(&mut q, "customer_id", &f.customer_id);
        self::filter(&mut q, "type", &f.asset_type);
        self::filter(&mut q, "status", &f.status);
        let p = Paging::new(first, after, last, before);
        list(ctx, paths::ASSETS, &q, &p).await.map(Some)
    }

    async fn contract(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Contract>> {
        one(ctx, paths::CONTRACTS, "contract", id).await
    }

    async fn invoice(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Invoice>> {
        one(ctx, paths::INVOICES, "invoice", id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<InvoiceFilter>,
    ) -> Result<Option<Conn<Invoice>>> {
        let f = filter.unwrap_or_default();
        let mut q = Vec::new();
        self::filter(&mut q, "customer_id", &f.customer_id);
        self::filter(&mut q, "status", &f.status);
        let p = Paging::new(first, after, last, before);
        list(ctx, paths::INVOICES, &q, &p).await.map(Some)
    }

    async fn license(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<License>> {
        one(ctx, paths::LICENSES, "license", id).await
    }
}

pub struct Mutation;

/// A new ticket, as `POST /v1/tickets` takes it.
#[derive(Debug, InputObject, Serialize)]
pub struct CreateTicketInput {
    /// Makes the mutation idempotent: a retry with the same id (and input)
    /// within 24 h answers the first result and creates nothing.
    #[serde(skip)]
    pub client_mutation_id: String,
    pub title: String,
    pub customer_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[graphql(name = "type")]
    pub ticket_type: Option<TicketType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<TicketPriority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, SimpleObject)]
pub struct CreateTicketPayload {
    pub client_mutation_id: String,
    pub ticket: Ticket,
}

/// A comment on a ticket, as `POST /v1/tickets/{id}/comments` takes it.
#[derive(Debug, InputObject, Serialize)]
pub struct AddTicketCommentInput {
    #[serde(skip)]
    pub client_mutation_id: String,
    #[serde(skip)]
    pub ticket_id: Uuid,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

#[derive(Debug, SimpleObject)]
pub struct AddTicketCommentPayload {
    pub client_mutation_id: String,
    pub comment: Comment,
}

/// `clientMutationId` is the write's idempotency key: 1 to 255 visible
/// characters, as the modules take `Idempotency-Key`.
fn mutation_id(raw: &str) -> Result<&str, Failure> {
    let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(raw)
    } else {
        Err(Failure::new(
            "VALIDATION_FAILED",
            "clientMutationId must be 1 to 255 visible ASCII characters",
        ))
    }
}

async fn create<T: serde::de::DeserializeOwned>(
    ctx: &Context<'_>,
    path: &str,
    body: &impl Serialize,
    key: &str,
) -> Result<T> {
    let body = serde_json::to_value(body).map_err(|e| Failure::new("INTERNAL", e.to_string()))?;
    let created = ctx
        .data_unchecked::<Arc<Downstream>>()
        .post(path, &body, mutation_id(key)?)
        .await?;
    Ok(nodes::<T>(ctx, vec![created])?
        .pop()
        .map(|(_, t)| t)
        .ok_or_else(|| Failure::new("INTERNAL", "nothing was created"))?)
}

#[Object]
impl Mutation {
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketInput,
    ) -> Result<CreateTicketPayload> {
        let ticket = create(ctx, paths::TICKETS, &input, &input.client_mutation_id).await?;
        Ok(CreateTicketPayload {
            client_mutation_id: input.client_mutation_id,
            ticket,
        })
    }

    async fn add_ticket_comment(
        &self,
        ctx: &Context<'_>,
        input: AddTicketCommentInput,
    ) -> Result<AddTicketCommentPayload> {
        let path = format!("{}/{}/comments", paths::TICKETS, input.ticket_id);
        let comment = create(ctx, &path, &input, &input.client_mutation_id).await?;
        Ok(AddTicketCommentPayload {
            client_mutation_id: input.client_mutation_id,
            comment,
        })
    }
}

/// The schema, without per-request data (see [`super::http`]).
pub fn schema() -> PsaSchema {
    async_graphql::Schema::build(Query, Mutation, EmptySubscription)
        .extension(super::cost::Limits)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_ids_are_idempotency_keys() {
        assert!(mutation_id("create-7f3a").is_ok());
        assert!(mutation_id("").is_err());
        assert!(mutation_id("has space").is_err());
        assert!(mutation_id(&"x".repeat(256)).is_err());
    }
}
