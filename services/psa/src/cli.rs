use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use psa_authn::keys::SigningKey;
use psa_runtime::{Module, PlatformConfig};
use uuid::Uuid;

use crate::all_modules;

#[derive(Debug, Parser)]
#[command(
    name = "psa",
    version,
    about = "PSA platform: serve, migrate, seed, tokens, OpenAPI"
)]
struct Cli {
    /// A TOML file over the built-in defaults; `PSA_…` variables override both.
    #[arg(long, global = true, env = "PSA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve `all` modules in one process, or the named ones.
    Serve {
        #[arg(default_value = "all")]
        modules: Vec<String>,
    },
    /// Create the database, module roles and schemas, and run every migration.
    Migrate,
    /// Create a demo tenant with customers, contacts, sites and contracts.
    SeedDemo,
    /// Print a JWT signed with the development key (tests and local use only).
    DevToken {
        #[arg(long)]
        tenant: Uuid,
        /// Comma-separated `resource:action` permissions.
        #[arg(long, value_delimiter = ',')]
        permissions: Vec<String>,
        /// Lifetime such as 30m, 1h, 2d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        #[arg(long, default_value = "dev-user")]
        subject: String,
    },
    /// Print the merged OpenAPI 3.1 document.
    Openapi,
    /// Auth module administration.
    #[command(subcommand)]
    Auth(AuthCommand),
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Add a new token signing key. It is published at once and signs after
    /// auth_server.key_activation_delay_secs; the old one stays published
    /// until its tokens have expired.
    RotateKeys,
}

pub fn main() -> ExitCode {
    run(Cli::parse())
}

fn run(cli: Cli) -> ExitCode {
    if let Command::Openapi = cli.command {
        print!("{}", psa_runtime::openapi::render(&all_modules()));
        return ExitCode::SUCCESS;
    }
    let cfg = match PlatformConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let _telemetry = match psa_telemetry::init(&cfg.telemetry) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: telemetry: {e}");
            return ExitCode::from(2);
        }
    };
    let result = tokio::runtime::Runtime::new()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(dispatch(cli.command, &cfg)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn select(names: &[String]) -> anyhow::Result<Vec<Module>> {
    let all = all_modules();
    if names.iter().any(|n| n == "all") {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().copied().find(|m| m.name == n).with_context(|| {
                let known: Vec<&str> = all.iter().map(|m| m.name).collect();
                format!("unknown module {n}; known: all, {}", known.join(", "))
            })
        })
        .collect()
}

fn progress(msg: &str) {
    eprintln!("psa: {msg}");
}

async fn dispatch(command: Command, cfg: &PlatformConfig) -> anyhow::Result<()> {
    match command {
        Command::Serve { modules } => {
            let modules = select(&modules)?;
            eprintln!(
                "psa: serving on {} (public URL {})",
                cfg.http.bind, cfg.http.public_url
            );
            eprintln!("psa: API docs at {}/docs", cfg.http.public_url);
            if !modules.iter().any(|m| m.name == "gateway") {
                return psa_runtime::serve::serve(cfg, &modules).await;
            }
            // The gateway in front: the selected modules in-process, the
            // ones configured as upstreams over HTTP.
            let behind: Vec<Module> = all_modules()
                .into_iter()
                .filter(|m| m.name != "gateway")
                .filter(|m| {
                    modules.iter().any(|s| s.name == m.name)
                        || cfg.gateway.upstreams.contains_key(m.name)
                })
                .collect();
            let (app, background) =
                psa_gateway::app(cfg, &behind, psa_runtime::serve::verifier(cfg)?)?;
            let mut names = vec!["gateway"];
            names.extend(behind.iter().map(|m| m.name));
            psa_runtime::serve::serve_router(cfg, app, &names, background).await
        }
        Command::Migrate => {
            psa_runtime::serve::migrate(cfg, &all_modules(), progress).await?;
            progress("migrations done");
            Ok(())
        }
        Command::SeedDemo => crate::seed::seed_demo(cfg).await,
        Command::DevToken {
            tenant,
            permissions,
            ttl,
            subject,
        } => {
            let ttl = parse_ttl(&ttl)?;
            if !cfg.auth.dev.enabled {
                progress(
                    "note: auth.dev.enabled is false, so servers with this config will refuse this token",
                );
            }
            let key = SigningKey::load_or_create(&cfg.auth.dev.key_file)?;
            let perms: Vec<&str> = permissions.iter().map(String::as_str).collect();
            println!(
                "{}",
                key.access_token(
                    &cfg.auth.dev.issuer,
                    &cfg.auth.dev.audience,
                    tenant,
                    &subject,
                    &perms,
                    ttl
                )?
            );
            Ok(())
        }
        Command::Openapi => unreachable!("handled before configuration is loaded"),
        Command::Auth(AuthCommand::RotateKeys) => {
            let pool = psa_db::module_pool(&cfg.database, &psa_auth::DB)?;
            let master = psa_auth::master_key(cfg)?;
            let a = &cfg.auth_server;
            let kid = psa_auth::signing::rotate(
                &pool,
                &master,
                a.key_activation_delay_secs,
                a.access_token_ttl_secs,
            )
            .await?;
            println!(
                "new signing key {kid}: published now, signs in {} s",
                a.key_activation_delay_secs.max(0)
            );
            Ok(())
        }
    }
}

/// `90s`, `30m`, `1h`, `2d` → seconds.
pub fn parse_ttl(raw: &str) -> anyhow::Result<i64> {
    let (num, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: i64 = num.parse().with_context(|| format!("bad ttl {raw}"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("bad ttl unit in {raw}: use s, m, h or d"),
    };
    if !(1..=30 * 86_400).contains(&secs) {
        bail!("ttl must be between 1 s and 30 days");
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90s").unwrap(), 90);
        assert_eq!(parse_ttl("30m").unwrap(), 1800);
        assert_eq!(parse_ttl("1h").unwrap(), 3600);
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("0s").is_err());
    }
}
