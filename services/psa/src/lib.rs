//! The `psa` command: run one module or all of them in one process, migrate,
//! seed demo data, mint development tokens, print the OpenAPI document.

pub mod cli;
pub mod seed;

use psa_runtime::Module;

/// Every module this build contains, in start order. The gateway, when
/// selected, is served in front of the others rather than beside them.
pub fn all_modules() -> Vec<Module> {
    vec![
        psa_gateway::module(),
        psa_auth::module(),
        psa_crm::module(),
        psa_tickets::module(),
    ]
}
