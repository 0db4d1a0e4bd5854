use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use psa_authn::keys::SigningKey;
use psa_runtime::{Module, PlatformConfig, Registry};
use uuid::Uuid;

use crate::{all_modules, registry};

#[derive(Debug, Parser)]
#[command(
    name = "psa",
    version,
    about = "PSA platform: serve, migrate, seed, tokens, OpenAPI and AsyncAPI"
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
    /// Print the AsyncAPI 3.0 document of every event type the modules publish.
    Asyncapi,
    /// Print the GraphQL schema (SDL) the gateway serves at /graphql.
    GraphqlSchema,
    /// Auth module administration.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Assets module administration.
    #[command(subcommand)]
    Assets(AssetsCommand),
}

#[derive(Debug, Subcommand)]
enum AssetsCommand {
    /// Replace the end-of-life snapshot (endoflife.date's products and
    /// cycles) with the one in FILE, in the shipped file's format; no
    /// network is used. Assets keep the dates already filled.
    ImportEol { file: PathBuf },
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
    match cli.command {
        Command::Openapi => {
            print!("{}", psa_runtime::openapi::render(&all_modules()));
            return ExitCode::SUCCESS;
        }
        Command::GraphqlSchema => {
            print!("{}", psa_gateway::graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Command::Asyncapi => {
            return match registry().and_then(|r| psa_runtime::asyncapi::render(&r)) {
                Ok(doc) => {
                    print!("{doc}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
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

/// The named modules (`all` for every one) out of the registry.
fn select(registry: &Registry, names: &[String]) -> anyhow::Result<Vec<Module>> {
    if names.iter().any(|n| n == "all") {
        return Ok(registry.modules().to_vec());
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    registry
        .select(&names)
        .map_err(|e| anyhow::anyhow!("{e}; or all"))
}

/// Serves the `names`d modules of the platform (`all` for every one): the
/// gateway, when among them, in front of the others, which it mounts
/// in-process, reaching the ones `gateway.upstreams` names over HTTP.
pub async fn serve(cfg: &PlatformConfig, names: &[&str]) -> anyhow::Result<()> {
    let registry = registry()?;
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let modules = select(&registry, &names)?;
    let mount: Vec<&str> = modules.iter().map(|m| m.name).collect();
    if !mount.contains(&"gateway") {
        return psa_runtime::serve::serve(cfg, registry, &mount).await;
    }
    let (app, background) = psa_gateway::app(
        cfg,
        registry.clone(),
        &mount,
        psa_runtime::serve::verifier(cfg)?,
    )?;
    let mut served = mount.clone();
    served.extend(
        registry
            .modules()
            .iter()
            .map(|m| m.name)
            .filter(|n| cfg.gateway.upstreams.contains_key(*n) && !mount.contains(n)),
    );
    psa_runtime::serve::serve_router(cfg, app, &served, background).await
}

fn progress(msg: &str) {
    eprintln!("psa: {msg}");
}

async fn dispatch(command: Command, cfg: &PlatformConfig) -> anyhow::Result<()> {
    match command {
        Command::Serve { modules } => {
            eprintln!(
                "psa: serving on {} (public URL {})",
                cfg.http.bind, cfg.http.public_url
            );
            eprintln!("psa: API docs at {}/docs", cfg.http.public_url);
            let names: Vec<&str> = modules.iter().map(String::as_str).collect();
            serve(cfg, &names).await
        }
        Command::Migrate => {
            psa_runtime::serve::migrate(cfg, registry()?.modules(), progress).await?;
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
        Command::Openapi | Command::Asyncapi | Command::GraphqlSchema => {
            unreachable!("handled before configuration is loaded")
        }
        Command::Assets(AssetsCommand::ImportEol { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let snapshot = psa_assets::domain::eol::Snapshot::parse(&text)
                .with_context(|| format!("{}", file.display()))?;
            let pool = psa_db::module_pool(&cfg.database, &psa_assets::DB)?;
            let (products, cycles) = psa_assets::repo::eol::load(&pool, &snapshot).await?;
            println!(
                "end-of-life snapshot of {} ({}): {products} products, {cycles} cycles",
                snapshot.as_of, snapshot.source
            );
            Ok(())
        }
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
