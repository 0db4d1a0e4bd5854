//! Invoices (and credit notes) as billing lists them.

use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use serde::Deserialize;
use uuid::Uuid;

use super::crm::Customer;
use super::scalars::{Date, DateTime, Decimal, Money};
use super::{InvoiceStatus, InvoiceType, paths};
use crate::graphql::page::one;

#[derive(Debug, Clone, SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Invoice {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub invoice_type: InvoiceType,
    pub status: InvoiceStatus,
    /// The gap-free number, once released.
    pub number: Option<String>,
    pub customer_id: Uuid,
    pub currency: String,
    pub issue_date: Option<Date>,
    pub due_date: Option<Date>,
    pub period_from: Option<Date>,
    pub period_to: Option<Date>,
    #[graphql(skip)]
    pub net_total: Decimal,
    #[graphql(skip)]
    pub tax_total: Decimal,
    #[graphql(skip)]
    pub gross_total: Decimal,
    pub preceding_invoice_id: Option<Uuid>,
    pub released_at: Option<DateTime>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl Invoice {
    fn money(&self, amount: &Decimal) -> Money {
        Money {
            amount: amount.clone(),
            currency: Some(self.currency.clone()),
        }
    }
}

#[ComplexObject]
impl Invoice {
    async fn net_total(&self) -> Money {
        self.money(&self.net_total)
    }

    async fn tax_total(&self) -> Money {
        self.money(&self.tax_total)
    }

    async fn gross_total(&self) -> Money {
        self.money(&self.gross_total)
    }

    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        one(ctx, paths::CUSTOMERS, "customer", self.customer_id).await
    }
}
