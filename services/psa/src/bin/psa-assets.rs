//! `psa-assets`: the assets module alone (the same as `psa serve assets`).

fn main() -> std::process::ExitCode {
    psa::main_for("assets")
}
