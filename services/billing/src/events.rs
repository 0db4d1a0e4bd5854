//! What billing publishes, one typed event type each, and what it consumes:
//! CRM's customers and contracts, tickets and their time entries, decoded
//! as their publishers' types and kept in billing's projection.

use psa_events::catalog::{EventSpec, EventType, one_of};
use serde_json::Value;
use sqlx::PgConnection;

use crate::domain::invoice::InvoiceDocument;
use crate::repo;

pub const INVOICE_GENERATED: EventType<InvoiceDocument> = EventType::new(
    "invoice.generated",
    "A draft was made (by an invoice run, by hand, or as a credit note); data is the draft with its lines.",
);
pub const INVOICE_RELEASED: EventType<InvoiceDocument> = EventType::new(
    "invoice.released",
    "An invoice was released: numbered, dated and final.",
);
pub const CREDIT_NOTE_RELEASED: EventType<InvoiceDocument> = EventType::new(
    "credit_note.released",
    "A credit note was released against an invoice (preceding_number names it).",
);

/// Billing's state of a time entry; the type is tickets' (tickets consume
/// it, and billing depends on tickets for its time-entry events).
pub use psa_tickets::events::BILLABLE_ITEM_UPDATED;

/// Every event type billing publishes, for the registry.
pub const PUBLISHES: &[EventSpec] = &[
    INVOICE_GENERATED.spec(),
    INVOICE_RELEASED.spec(),
    CREDIT_NOTE_RELEASED.spec(),
    BILLABLE_ITEM_UPDATED.spec(),
];

/// What the projection binds.
pub const CONSUMES: &[&str] = &[
    "customer.*",
    "contract.*",
    "ticket.created",
    "ticket.updated",
    "time_entry.*",
];

/// Applies an event of CRM or tickets to the projection (in the event's
/// tenant); older versions than kept are ignored. Billing's own reactions
/// (an approved item reset by an edit) are events in the same transaction.
pub async fn project(
    conn: &mut PgConnection,
    event_type: &str,
    data: &Value,
) -> Result<(), String> {
    use psa_crm::events::{CONTRACT, CUSTOMER};
    use psa_tickets::events::{TICKET_CREATED, TICKET_UPDATED, TIME_ENTRY};
    let decode_error = |e: serde_json::Error| format!("{event_type}: {e}");
    let result = if let Some(customer) = CUSTOMER.decode(event_type, data) {
        let (customer, deleted) = customer.map_err(decode_error)?;
        repo::projection::upsert_customer(conn, &customer, deleted).await
    } else if let Some(contract) = CONTRACT.decode(event_type, data) {
        let (contract, deleted) = contract.map_err(decode_error)?;
        repo::projection::upsert_contract(conn, &contract, deleted).await
    } else if let Some(event) = one_of(event_type, [TICKET_CREATED, TICKET_UPDATED]) {
        let ticket = event.decode(data).map_err(decode_error)?;
        repo::projection::upsert_ticket(conn, &ticket).await
    } else if let Some(entry) = TIME_ENTRY.decode(event_type, data) {
        let (entry, deleted) = entry.map_err(decode_error)?;
        repo::items::apply_time_entry(conn, &entry, deleted).await
    } else {
        return Ok(());
    };
    result.map_err(|e| e.to_string())
}
