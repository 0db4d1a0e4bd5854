//! What runs a module: the platform configuration, the `Module` a service
//! crate declares, the registry of all modules, their workers, and the
//! server that mounts one or many modules in a process behind the shared
//! layer stack, with health, metrics and docs.

pub mod asyncapi;
pub mod config;
pub mod module;
pub mod openapi;
pub mod registry;
pub mod serve;
pub mod workers;

pub use config::PlatformConfig;
pub use module::{Module, ModuleContext, Mounted, Permission};
pub use psa_events::catalog::{EventSpec, EventType};
pub use registry::{Registry, Route};
pub use workers::{Subscription, Workers};
