use std::sync::Arc;

use axum::Router;
use psa_authn::Verifier;
use psa_db::ModuleDb;

use crate::config::PlatformConfig;
use psa_http::health::ReadinessCheck;
use utoipa::openapi::OpenApi;

/// What a module needs from the process that mounts it.
#[derive(Clone)]
pub struct ModuleContext {
    pub config: Arc<PlatformConfig>,
    pub verifier: Arc<Verifier>,
}

/// A module ready to serve: its routes (state applied, no cross-cutting
/// layers) and the checks `/readyz` runs for it.
pub struct Mounted {
    pub router: Router,
    pub checks: Vec<ReadinessCheck>,
}

/// What a service crate exposes so the platform can run it.
#[derive(Clone, Copy)]
pub struct Module {
    pub name: &'static str,
    pub db: ModuleDb,
    pub permissions: &'static [&'static str],
    pub mount: fn(&ModuleContext) -> anyhow::Result<Mounted>,
    pub openapi: fn() -> OpenApi,
}
