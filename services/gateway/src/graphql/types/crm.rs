//! Customers and what hangs off them: contacts, sites, contracts — and
//! their tickets, assets and invoices from the other modules.

use async_graphql::{ComplexObject, Context, Json, Result, SimpleObject};
use serde::Deserialize;
use uuid::Uuid;

use super::assets::Asset;
use super::billing::Invoice;
use super::scalars::{Date, DateTime, Decimal, Money};
use super::tickets::Ticket;
use super::{
    AssetStatus, ContractStatus, ContractType, CustomerStatus, EinvoiceFormat, InvoiceStatus,
    TicketPriority, TicketStatus, VatTreatment, paths,
};
use crate::graphql::page::{Conn, Paging, children, filter};

/// A postal address.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: String,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Customer {
    pub id: Uuid,
    pub customer_number: String,
    pub name: String,
    pub status: CustomerStatus,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub notes: Option<String>,
    pub address: Option<Address>,
    pub billing_address: Option<Address>,
    pub invoice_email: Option<String>,
    pub vat_id: Option<String>,
    pub tax_number: Option<String>,
    pub leitweg_id: Option<String>,
    pub debtor_account: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub einvoice_format: EinvoiceFormat,
    pub vat_treatment: VatTreatment,
    pub external_ids: Json<serde_json::Value>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[ComplexObject]
impl Customer {
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<Conn<Contact>>> {
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::CONTACTS, "customer_id", self.id, &[], &p)
            .await
            .map(Some)
    }

    async fn sites(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<Conn<Site>>> {
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::SITES, "customer_id", self.id, &[], &p)
            .await
            .map(Some)
    }

    async fn contracts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Option<Conn<Contract>>> {
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::CONTRACTS, "customer_id", self.id, &[], &p)
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
        children(ctx, paths::TICKETS, "customer_id", self.id, &q, &p)
            .await
            .map(Some)
    }

    #[allow(clippy::too_many_arguments)]
    async fn assets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(name = "type")] asset_type: Option<String>,
        status: Option<AssetStatus>,
    ) -> Result<Option<Conn<Asset>>> {
        let mut q = Vec::new();
        filter(&mut q, "type", &asset_type);
        filter(&mut q, "status", &status);
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::ASSETS, "customer_id", self.id, &q, &p)
            .await
            .map(Some)
    }

    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<InvoiceStatus>,
    ) -> Result<Option<Conn<Invoice>>> {
        let mut q = Vec::new();
        filter(&mut q, "status", &status);
        let p = Paging::new(first, after, last, before);
        children(ctx, paths::INVOICES, "customer_id", self.id, &q, &p)
            .await
            .map(Some)
    }
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct Contact {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub is_primary: bool,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct Site {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Contract {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub contract_type: ContractType,
    pub status: ContractStatus,
    pub start_date: Date,
    pub end_date: Option<Date>,
    pub currency: String,
    #[graphql(skip)]
    pub hourly_rate: Option<Decimal>,
    #[graphql(skip)]
    pub monthly_fee: Option<Decimal>,
    /// Hours a month the fee includes.
    pub included_hours: Option<Decimal>,
    pub billing_increment_minutes: i32,
    pub billing_day: i32,
    /// Response and resolution targets per priority, as `/v1` has them.
    pub sla: Option<Json<serde_json::Value>>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[ComplexObject]
impl Contract {
    async fn hourly_rate(&self) -> Option<Money> {
        Money::of(&self.hourly_rate, &Some(self.currency.clone()))
    }

    async fn monthly_fee(&self) -> Option<Money> {
        Money::of(&self.monthly_fee, &Some(self.currency.clone()))
    }
}
