//! `psa-tickets`: the ticketing module alone (the same as `psa serve tickets`).

fn main() -> std::process::ExitCode {
    psa_runtime::serve::main_for(&[psa_tickets::module()])
}
