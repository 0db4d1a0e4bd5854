//! What runs a module: the platform configuration, the `Module` a service
//! crate exposes, and the server that mounts one or many modules in a
//! process behind the shared layer stack, with health, metrics and docs.

pub mod config;
pub mod module;
pub mod openapi;
pub mod serve;

pub use config::PlatformConfig;
pub use module::{Module, ModuleContext, Mounted};
