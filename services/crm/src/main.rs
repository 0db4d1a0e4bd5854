//! `psa-crm`: the CRM module alone (the same as `psa serve crm`).

fn main() -> std::process::ExitCode {
    psa_runtime::serve::main_for(&[psa_crm::module()])
}
