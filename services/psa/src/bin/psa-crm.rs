//! `psa-crm`: the CRM module alone (the same as `psa serve crm`).

fn main() -> std::process::ExitCode {
    psa::main_for("crm")
}
