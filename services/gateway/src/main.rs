//! `psa-gateway`: the gateway alone, in front of modules that run elsewhere
//! (`gateway.upstreams.<module> = "http://…"`). `psa serve gateway crm …`
//! also mounts modules in-process.

fn main() -> std::process::ExitCode {
    psa_runtime::serve::run_main(|cfg| async move {
        let verifier = psa_runtime::serve::verifier(&cfg)?;
        let (app, background) = psa_gateway::app(&cfg, &[], verifier)?;
        psa_runtime::serve::serve_router(&cfg, app, &["gateway"], background).await
    })
}
