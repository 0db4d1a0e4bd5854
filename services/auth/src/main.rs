//! `psa-auth`: the auth module alone (the same as `psa serve auth`).

fn main() -> std::process::ExitCode {
    psa_runtime::serve::main_for(&[psa_auth::module()])
}
