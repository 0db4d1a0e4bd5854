//! The `psa` command: run one module or all of them in one process, migrate,
//! seed demo data, mint development tokens, print the OpenAPI and AsyncAPI
//! documents; and the per-module binaries (`psa-crm`, …, in `src/bin/`).

pub mod cli;
pub mod seed;

use std::sync::Arc;

use psa_runtime::{Module, Registry};

/// Every module of the platform, in start order: one line per module. The
/// gateway's routes, the permission catalogue, the event catalogue, the
/// OpenAPI document and `psa migrate`/`psa serve` are all built from it.
/// The gateway, when selected, is served in front of the others rather
/// than beside them.
pub fn all_modules() -> Vec<Module> {
    vec![
        psa_gateway::module(),
        psa_auth::module(),
        psa_crm::module(),
        psa_tickets::module(),
        psa_billing::module(),
        psa_assets::module(),
        psa_notify::module(),
    ]
}

/// The registry of [`all_modules`], checked to fit together.
pub fn registry() -> anyhow::Result<Arc<Registry>> {
    Ok(Arc::new(Registry::new(all_modules())?))
}

/// The whole `main` of a per-module binary: configuration from `PSA_CONFIG`
/// (a file, optional) and `PSA_…` variables, telemetry, then `module`
/// served alone, knowing the whole platform (the auth module's permission
/// catalogue; the gateway's routes to modules elsewhere).
pub fn main_for(module: &'static str) -> std::process::ExitCode {
    psa_runtime::serve::run_main(|cfg| async move { cli::serve(&cfg, &[module]).await })
}
