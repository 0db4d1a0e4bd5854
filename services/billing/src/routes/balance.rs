//! What a customer owes (`GET /v1/billing/customers/{id}/balance`): its
//! released invoices with an open amount, and the sums per currency.
//! Recorded payments will lower the open amounts here.

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::Utc;
use psa_authn::Caller;
use psa_http::Problem;
use psa_http::extract::PathId;
use psa_kernel::Tx;
use psa_kernel::docs::{Denied, NotFound};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Error;
use crate::repo::balance::OpenInvoice;
use crate::state::BillingState;
use crate::{INVOICES_READ, repo};

/// What is open in one currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpenSum {
    pub currency: String,
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "2945.26")]
    pub open_amount: Decimal,
    /// Of it, what is past its due date.
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1472.63")]
    pub overdue_amount: Decimal,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub customer_id: Uuid,
    pub totals: Vec<OpenSum>,
    /// Oldest first.
    pub invoices: Vec<OpenInvoice>,
}

/// What the customer owes: 404 for a customer billing does not know.
#[utoipa::path(get, path = "/v1/billing/customers/{id}/balance", tag = "billing",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Balance), Denied, NotFound),
    security(("bearer" = ["invoices:read"])))]
pub async fn customer_balance(
    State(state): State<BillingState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<axum::Json<Balance>, Error> {
    let tx = Tx::begin(&state.store, &caller, INVOICES_READ.name).await?;
    let invoices = psa_kernel::read(tx, async |tx| {
        if !repo::projection::customer_known(tx, id).await? {
            return Err(Error::from(Problem::not_found()));
        }
        Ok(repo::balance::open_invoices(tx, id).await?)
    })
    .await?;
    let today = Utc::now().date_naive();
    let mut totals: BTreeMap<&str, OpenSum> = BTreeMap::new();
    for i in &invoices {
        let sum = totals.entry(&i.currency).or_insert_with(|| OpenSum {
            currency: i.currency.clone(),
            open_amount: Decimal::ZERO,
            overdue_amount: Decimal::ZERO,
        });
        sum.open_amount += i.open_amount;
        if i.due_date < today {
            sum.overdue_amount += i.open_amount;
        }
    }
    let balance = Balance {
        customer_id: id,
        totals: totals.into_values().collect(),
        invoices,
    };
    Ok(axum::Json(balance))
}
