//! CRM types and their invariants. No SQL, no HTTP here.

pub mod contact;
pub mod contract;
pub mod customer;
pub mod site;
pub mod validate;

pub use contact::{Contact, ContactInput};
pub use contract::{Contract, ContractInput};
pub use customer::{Customer, CustomerInput};
pub use site::{Site, SiteInput};
