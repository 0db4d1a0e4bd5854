//! `psa-tickets`: the ticketing module alone (the same as `psa serve tickets`).

fn main() -> std::process::ExitCode {
    psa::main_for("tickets")
}
