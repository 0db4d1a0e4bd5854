//! What customers owe: released invoices with an open amount.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

/// A released invoice that still asks for money.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct OpenInvoice {
    pub id: Uuid,
    pub number: String,
    pub currency: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1472.63")]
    pub gross_total: Decimal,
    /// The gross total less released credit notes (and, later, payments).
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1359.58")]
    pub open_amount: Decimal,
}

/// A customer's released invoices with something open, oldest first.
pub async fn open_invoices(
    conn: &mut PgConnection,
    customer: Uuid,
) -> Result<Vec<OpenInvoice>, sqlx::Error> {
    sqlx::query_as!(
        OpenInvoice,
        r#"select i.id, i.number as "number!", i.currency, i.issue_date as "issue_date!",
             i.due_date as "due_date!", i.gross_total,
             i.gross_total - coalesce((select sum(c.gross_total) from billing.invoices c
                                       where c.preceding_invoice_id = i.id and c.status = 'released'), 0)
               as "open_amount!"
           from billing.invoices i
           where i.customer_id = $1 and i.type = 'invoice' and i.status = 'released'
           order by i.issue_date, i.id"#,
        customer
    )
    .fetch_all(conn)
    .await
    .map(|rows| rows.into_iter().filter(|r| r.open_amount > Decimal::ZERO).collect())
}
