//! Serving modules: one process, any number of modules, one layer stack.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use psa_authn::Verifier;
use psa_authn::keys::SigningKey;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::PlatformConfig;
use crate::module::{Module, ModuleContext, Mounted};
use crate::openapi;
use crate::registry::Registry;
use crate::workers::Workers;

/// Builds the verifier the configuration describes (loading or creating the
/// dev key when it is enabled).
pub fn verifier(cfg: &PlatformConfig) -> anyhow::Result<Arc<Verifier>> {
    let dev = if cfg.auth.dev.enabled {
        tracing::warn!(issuer = %cfg.auth.dev.issuer, "the development signing key is trusted; never do this in production");
        Some(SigningKey::load_or_create(&cfg.auth.dev.key_file)?)
    } else {
        None
    };
    verifier_with(cfg, dev.as_ref())
}

/// The verifier for `cfg`, trusting `dev` as the development key when given.
pub fn verifier_with(
    cfg: &PlatformConfig,
    dev: Option<&SigningKey>,
) -> anyhow::Result<Arc<Verifier>> {
    let mut auth = cfg.auth.clone();
    if auth.trust_own_issuer {
        let mut own = psa_authn::IssuerConfig::new(cfg.issuer(), cfg.auth_server.audience.clone());
        own.algorithms = vec!["EdDSA".into()];
        if !cfg.auth_server.jwks_uri.is_empty() {
            own.jwks_uri = Some(cfg.auth_server.jwks_uri.clone());
        }
        auth.issuers.push(own);
    }
    Ok(Arc::new(
        Verifier::from_config(&auth, dev).map_err(|e| anyhow::anyhow!("auth: {e}"))?,
    ))
}

/// The whole application of a platform made of exactly these modules (all
/// mounted), layers applied.
pub fn app(
    cfg: &PlatformConfig,
    modules: &[Module],
    verifier: Arc<Verifier>,
) -> anyhow::Result<Router> {
    let registry = Arc::new(Registry::new(modules.iter().copied())?);
    let names: Vec<&str> = modules.iter().map(|m| m.name).collect();
    app_in(cfg, registry, &names, verifier)
}

/// The application of the `mount`ed modules of the platform `registry`,
/// layers applied; their workers live as long as the router.
pub fn app_in(
    cfg: &PlatformConfig,
    registry: Arc<Registry>,
    mount: &[&str],
    verifier: Arc<Verifier>,
) -> anyhow::Result<Router> {
    let ctx = ModuleContext {
        config: Arc::new(cfg.clone()),
        verifier,
        registry: registry.clone(),
    };
    let modules = registry.select(mount)?;
    let mut router = Router::new();
    let mut checks = Vec::new();
    let mut workers = Workers::new("platform");
    for m in &modules {
        let mounted = mount_module(&ctx, m)?;
        router = router.merge(mounted.router);
        checks.extend(mounted.checks);
        workers.append(mounted.workers);
    }
    let docs: Router = SwaggerUi::new("/docs")
        .url("/openapi.json", openapi::merged(&modules))
        .into();
    let router = router
        .merge(docs)
        .merge(psa_http::health::routes(checks))
        .fallback(psa_http::layers::not_found);
    Ok(keep_alive(
        psa_http::layers::apply(router, &cfg.http.limits()),
        workers,
    ))
}

/// Mounts one module, naming it in the error.
pub fn mount_module(ctx: &ModuleContext, m: &Module) -> anyhow::Result<Mounted> {
    (m.mount)(ctx).with_context(|| format!("mounting module {}", m.name))
}

/// Ties `workers` to `router`: they run exactly as long as any clone of it
/// (and so the server serving it) exists.
pub fn keep_alive(router: Router, workers: Workers) -> Router {
    router.layer(axum::Extension(Arc::new(workers)))
}

/// Serves the `mount`ed modules of `registry` (no gateway) until SIGINT/SIGTERM.
pub async fn serve(
    cfg: &PlatformConfig,
    registry: Arc<Registry>,
    mount: &[&str],
) -> anyhow::Result<()> {
    let app = app_in(cfg, registry, mount, verifier(cfg)?)?;
    serve_router(cfg, app, mount, Vec::new()).await
}

/// Serves a router until SIGINT/SIGTERM, drains in-flight requests, then
/// waits (bounded) for background tasks that flush on shutdown.
pub async fn serve_router(
    cfg: &PlatformConfig,
    app: Router,
    names: &[&str],
    background: Vec<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(cfg.http.bind)
        .await
        .with_context(|| format!("binding {}", cfg.http.bind))?;
    tracing::info!(addr = %cfg.http.bind, modules = ?names, "serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    let grace = Duration::from_secs(cfg.http.shutdown_grace_secs);
    for task in background {
        if tokio::time::timeout(grace, task).await.is_err() {
            tracing::warn!("a background task did not finish within the shutdown grace period");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down; draining in-flight requests");
}

/// Runs migrations for every module: database, roles, schemas, tables.
pub async fn migrate(
    cfg: &PlatformConfig,
    modules: &[Module],
    progress: impl Fn(&str),
) -> anyhow::Result<()> {
    use sqlx::Connection;
    progress("ensuring the database exists");
    psa_db::ensure_database(&cfg.database.admin_url).await?;
    let mut admin = sqlx::PgConnection::connect(&cfg.database.admin_url)
        .await
        .context("connecting with database.admin_url")?;
    for (i, m) in modules.iter().enumerate() {
        progress(&format!(
            "[{}/{}] migrating schema {} (role {})",
            i + 1,
            modules.len(),
            m.db.schema,
            m.db.role
        ));
        let pw = cfg.database.role_passwords.get(m.name).map(String::as_str);
        psa_db::migrate_module(&mut admin, &m.db, pw).await?;
    }
    Ok(())
}

/// A binary's `main`: configuration from `PSA_CONFIG` (a file, optional) and
/// `PSA_…` variables (exit 2 naming a wrong key), telemetry, then `run`.
pub fn run_main<F, Fut>(run: F) -> std::process::ExitCode
where
    F: FnOnce(PlatformConfig) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let file = std::env::var_os("PSA_CONFIG").map(std::path::PathBuf::from);
    let cfg = match PlatformConfig::load(file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _telemetry = match psa_telemetry::init(&cfg.telemetry) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
