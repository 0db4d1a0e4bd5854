//! What the gateway keeps of its own: the audit log of writes.

pub mod audit;
