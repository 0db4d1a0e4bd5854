//! `psa-billing`: the billing module alone (the same as `psa serve billing`).

fn main() -> std::process::ExitCode {
    psa::main_for("billing")
}
