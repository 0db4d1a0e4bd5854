//! What a contract was charged: its months' fees and its prepaid block, each
//! once (the primary key of `contract_charges`), and the time billed under it.

use std::collections::HashSet;

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::pricing::{Charge, Charged};

/// What was charged under a contract before. The contract's row stays
/// locked until the transaction ends, so runs billing it at the same time
/// take turns and each sees what the other charged and used.
pub async fn charged(conn: &mut PgConnection, contract: Uuid) -> Result<Charged, sqlx::Error> {
    sqlx::query!(
        "select id from billing.contracts where id = $1 for update",
        contract
    )
    .fetch_optional(&mut *conn)
    .await?;
    let rows = sqlx::query!(
        "select kind, period_start from billing.contract_charges where contract_id = $1",
        contract
    )
    .fetch_all(&mut *conn)
    .await?;
    let fees: HashSet<NaiveDate> = rows
        .iter()
        .filter(|r| r.kind == "fee")
        .map(|r| r.period_start)
        .collect();
    let block = rows.iter().any(|r| r.kind == "block");
    let month_minutes = crate::repo::items::billed_minutes(conn, contract).await?;
    Ok(Charged {
        fees,
        block,
        minutes: month_minutes.values().sum(),
        month_minutes,
    })
}

/// Records a charge once; false when it was made already (by a concurrent run).
pub async fn charge(
    conn: &mut PgConnection,
    contract: Uuid,
    charge: Charge,
    invoice: Uuid,
    line: Uuid,
) -> Result<bool, sqlx::Error> {
    let (kind, start) = match charge {
        Charge::Fee(d) => ("fee", d),
        Charge::Block(d) => ("block", d),
    };
    let done = sqlx::query!(
        "insert into billing.contract_charges (contract_id, kind, period_start, invoice_id, line_id)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
        contract,
        kind,
        start,
        invoice,
        line
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
