//! Assets and licences.

use async_graphql::{ComplexObject, Context, Json, Result, SimpleObject};
use serde::Deserialize;
use uuid::Uuid;

use super::crm::Customer;
use super::scalars::{Date, DateTime, Decimal, Money};
use super::tickets::Ticket;
use super::{AssetStatus, TicketPriority, TicketStatus, paths};
use crate::graphql::page::{Conn, Paging, children, filter, one};

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Asset {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub site_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// The asset type's key (`workstation`, `server`, …).
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub asset_type: String,
    pub status: AssetStatus,
    pub hostname: Option<String>,
    pub serial_number: Option<String>,
    pub asset_tag: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub purchase_date: Option<Date>,
    #[graphql(skip)]
    pub purchase_price: Option<Decimal>,
    #[graphql(skip)]
    pub currency: Option<String>,
    pub warranty_end: Option<Date>,
    pub eol_date: Option<Date>,
    pub eol_source: Option<String>,
    pub last_seen_at: Option<DateTime>,
    pub notes: Option<String>,
    pub custom_fields: Json<serde_json::Value>,
    pub external_ids: Json<serde_json::Value>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[ComplexObject]
impl Asset {
    async fn purchase_price(&self) -> Option<Money> {
        Money::of(&self.purchase_price, &self.currency)
    }

    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        one(ctx, paths::CUSTOMERS, "customer", self.customer_id).await
    }

    /// The licences assigned to this asset.
    async fn licenses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<Conn<License>>> {
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::LICENSES, "asset_id", self.id, &[], &p)
            .await
            .map(Some)
    }

    #[allow(clippy::too_many_arguments)]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<TicketStatus>,
        priority: Option<TicketPriority>,
    ) -> Result<Option<Conn<Ticket>>> {
        let mut q = Vec::new();
        filter(&mut q, "status", &status);
        filter(&mut q, "priority", &priority);
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::TICKETS, "asset_id", self.id, &q, &p)
            .await
            .map(Some)
    }
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct License {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product: String,
    pub vendor: Option<String>,
    pub seats: i32,
    pub seats_used: i64,
    /// Whether a key is stored (read it through `/v1/licenses/{id}/key`).
    pub has_key: bool,
    pub start_date: Option<Date>,
    pub expiry_date: Option<Date>,
    #[graphql(skip)]
    pub cost: Option<Decimal>,
    #[graphql(skip)]
    pub currency: Option<String>,
    pub notes: Option<String>,
    pub external_ids: Json<serde_json::Value>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[ComplexObject]
impl License {
    async fn cost(&self) -> Option<Money> {
        Money::of(&self.cost, &self.currency)
    }

    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        one(ctx, paths::CUSTOMERS, "customer", self.customer_id).await
    }
}
