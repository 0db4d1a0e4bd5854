//! What the DATEV export books: the released documents of a period.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::invoice::{
    Invoice, InvoiceDocument, InvoiceLine, LineKind, UnitCode, totals_of,
};
use crate::domain::money::VatCategory;

use super::invoices::COLUMNS;

/// The released invoices and credit notes issued in `[from, to]`, by issue
/// date and number, with their lines and VAT breakdown; at most `limit`.
pub async fn released_between(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<InvoiceDocument>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from billing.invoices
         where status = 'released' and issue_date between $1 and $2
         order by issue_date, number limit $3"
    );
    let heads: Vec<Invoice> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = heads.iter().map(|i| i.id).collect();
    let rows = sqlx::query!(
        r#"select invoice_id, id, position, kind as "kind: LineKind", description, quantity,
             unit_code as "unit_code: UnitCode", unit_price, net_amount,
             vat_category as "vat_category: VatCategory", vat_rate, exemption_reason, contract_id,
             period_from, period_to, credited_line_id
           from billing.invoice_lines where invoice_id = any($1) order by invoice_id, position"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut lines: HashMap<Uuid, Vec<InvoiceLine>> = HashMap::new();
    for r in rows {
        lines.entry(r.invoice_id).or_default().push(InvoiceLine {
            id: r.id,
            position: r.position,
            kind: r.kind,
            description: r.description,
            quantity: r.quantity,
            unit_code: r.unit_code,
            unit_price: r.unit_price,
            net_amount: r.net_amount,
            vat_category: r.vat_category,
            vat_rate: r.vat_rate,
            exemption_reason: r.exemption_reason,
            contract_id: r.contract_id,
            period_from: r.period_from,
            period_to: r.period_to,
            credited_line_id: r.credited_line_id,
        });
    }
    Ok(heads
        .into_iter()
        .map(|invoice| {
            let lines = lines.remove(&invoice.id).unwrap_or_default();
            InvoiceDocument {
                vat_breakdown: totals_of(&lines).groups,
                invoice,
                lines,
                open_amount: None,
                files: vec![],
            }
        })
        .collect())
}
