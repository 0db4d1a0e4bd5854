//! The CRM's HTTP handlers, one file per resource. Each is a thin function
//! over the kernel's generic CRUD ([`psa_kernel::resource`]); the SQL is in
//! [`crate::repo`].

pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod sites;
