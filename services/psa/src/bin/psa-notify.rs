//! `psa-notify`: the notify module alone (the same as `psa serve notify`).

fn main() -> std::process::ExitCode {
    psa::main_for("notify")
}
