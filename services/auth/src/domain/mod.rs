//! Auth's types and rules, free of HTTP and SQL.

pub mod api_key;
pub mod audit;
pub mod login;
pub mod mfa;
pub mod oauth;
pub mod role;
pub mod service_account;
pub mod tenant;
pub mod user;
