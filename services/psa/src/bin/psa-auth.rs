//! `psa-auth`: the auth module alone (the same as `psa serve auth`).

fn main() -> std::process::ExitCode {
    psa::main_for("auth")
}
