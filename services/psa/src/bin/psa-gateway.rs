//! `psa-gateway`: the gateway alone, in front of modules that run elsewhere
//! (`gateway.upstreams.<module> = "http://…"`); the same as `psa serve gateway`.
//! `psa serve gateway crm …` also mounts modules in-process.

fn main() -> std::process::ExitCode {
    psa::main_for("gateway")
}
