//! Billing's domain: money and VAT, the pricing of contracts and time,
//! billable items, invoices and their release, seller settings, runs.

pub mod input;
pub mod invoice;
pub mod item;
pub mod money;
pub mod numbering;
pub mod pricing;
pub mod release;
pub mod run;
pub mod settings;
