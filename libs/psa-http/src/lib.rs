//! HTTP building blocks shared by every module: problem+json errors, strict
//! extractors, the layer stack, health/readiness/metrics, keyset pagination
//! and batch reads, JSON Merge Patch, entity tags and idempotency keys.

pub mod conditional;
pub mod context;
pub mod decimal;
pub mod extract;
pub mod formats;
pub mod health;
pub mod id_list;
pub mod idempotency;
pub mod keyset;
pub mod layers;
pub mod merge_patch;
pub mod negotiate;
pub mod pagination;
pub mod problem;
pub mod validate;

pub use problem::{FieldError, Problem};
