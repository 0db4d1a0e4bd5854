//! Event types, in one place (EVENTS.md's catalogue).

pub const CUSTOMER_CREATED: &str = "customer.created";
pub const CUSTOMER_UPDATED: &str = "customer.updated";
pub const CUSTOMER_DELETED: &str = "customer.deleted";
pub const CONTACT_CREATED: &str = "contact.created";
pub const CONTACT_UPDATED: &str = "contact.updated";
pub const CONTACT_DELETED: &str = "contact.deleted";
pub const SITE_CREATED: &str = "site.created";
pub const SITE_UPDATED: &str = "site.updated";
pub const SITE_DELETED: &str = "site.deleted";
pub const CONTRACT_CREATED: &str = "contract.created";
pub const CONTRACT_UPDATED: &str = "contract.updated";
pub const CONTRACT_DELETED: &str = "contract.deleted";
pub const TICKET_CREATED: &str = "ticket.created";
pub const TICKET_UPDATED: &str = "ticket.updated";
pub const TICKET_STATUS_CHANGED: &str = "ticket.status_changed";
pub const TICKET_ASSIGNED: &str = "ticket.assigned";
pub const TICKET_COMMENT_ADDED: &str = "ticket.comment_added";
pub const TICKET_SLA_BREACHED: &str = "ticket.sla_breached";
pub const TIME_ENTRY_LOGGED: &str = "time_entry.logged";
pub const INVOICE_GENERATED: &str = "invoice.generated";
pub const INVOICE_RELEASED: &str = "invoice.released";
pub const ASSET_CREATED: &str = "asset.created";
pub const ASSET_UPDATED: &str = "asset.updated";
pub const ASSET_EOL: &str = "asset.eol";
pub const LICENSE_EXPIRING: &str = "license.expiring";
