//! Test support: a fresh database per test cloned from a migrated template,
//! the application served on a random port, tokens for any tenant and
//! permissions, and a TCP fault proxy to take Postgres "down". Tests call
//! the API through the one [`Client`] and make their data with [`fixtures`].

pub mod batch;
pub mod broker;
pub mod bulk;
mod client;
pub mod cursors;
pub mod fixtures;
pub mod forged;
pub mod peers;
mod proxy;

use std::sync::Arc;

use psa_authn::keys::SigningKey;
use psa_runtime::{Module, PlatformConfig};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use uuid::Uuid;

pub use client::{Client, MERGE_PATCH, PROBLEM_JSON, Pages, TestResponse, http_client, id_of};
pub use proxy::FaultProxy;

pub const ISSUER: &str = "urn:psa:test";
pub const AUDIENCE: &str = "psa";

/// The superuser URL tests administer databases with (`TEST_DATABASE_ADMIN_URL`).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `host:port` of the PostgreSQL server the tests use (a fresh cluster of
/// `scripts/test-fresh` listens elsewhere than 5432).
pub fn postgres_addr() -> String {
    let url = admin_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    host.split('/').next().unwrap_or(host).to_owned()
}

fn url_for(db: &str) -> String {
    let base = admin_url();
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db}"),
        None => format!("{base}/{db}"),
    }
}

fn template_name(modules: &[Module]) -> String {
    let mut h = Sha256::new();
    for m in modules {
        h.update(m.db.schema.as_bytes());
        // The platform template is applied before the migrations: its text
        // (schema, role and parts put in) is part of what the template holds.
        let platform = psa_db::platform::platform_version(&m.db).expect("a plain schema name");
        h.update(platform.as_bytes());
        for mig in m.db.migrator.iter() {
            h.update(mig.version.to_le_bytes());
            h.update(&mig.checksum);
        }
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("psa_tpl_{digest}")
}

async fn exec(conn: &mut PgConnection, sql: String) -> anyhow::Result<()> {
    sqlx::query(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

/// Makes the migrated template once (across processes), returns its name.
async fn ensure_template(modules: &[Module]) -> anyhow::Result<String> {
    let name = template_name(modules);
    let mut admin = PgConnection::connect(&admin_url()).await?;
    sqlx::query("select pg_advisory_lock(hashtextextended('psa-test-template', 0))")
        .execute(&mut admin)
        .await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let building = format!("{name}_building");
        exec(
            &mut admin,
            format!("drop database if exists {building} with (force)"),
        )
        .await?;
        exec(&mut admin, format!("create database {building}")).await?;
        {
            let passwords = PlatformConfig::load(None)?.database.role_passwords;
            let mut conn = PgConnection::connect(&url_for(&building)).await?;
            for m in modules {
                let pw = passwords.get(m.name).map(String::as_str);
                psa_db::migrate_module(&mut conn, &m.db, pw).await?;
            }
            conn.close().await?;
        }
        // Renamed only when complete, so a failed build is never used.
        exec(
            &mut admin,
            format!("alter database {building} rename to {name}"),
        )
        .await?;
    }
    sqlx::query("select pg_advisory_unlock(hashtextextended('psa-test-template', 0))")
        .execute(&mut admin)
        .await?;
    Ok(name)
}

/// A database of its own for one test, dropped when this is dropped.
pub struct TestDb {
    pub name: String,
    /// A superuser pool on this database, for assertions behind the API's back.
    pub admin: PgPool,
}

impl TestDb {
    pub async fn create(modules: &[Module]) -> anyhow::Result<Self> {
        let template = ensure_template(modules).await?;
        let name = format!("psa_t_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url()).await?;
        // Roles are cluster-wide and may predate this run's passwords.
        let passwords = PlatformConfig::load(None)?.database.role_passwords;
        for m in modules {
            if let Some(pw) = passwords.get(m.name) {
                psa_db::set_role_password(&mut admin, m.db.role, pw).await?;
            }
        }
        exec(
            &mut admin,
            format!("create database {name} template {template}"),
        )
        .await?;
        let pool = PgPool::connect(&url_for(&name)).await?;
        Ok(Self { name, admin: pool })
    }

    /// A pool connected as a module's own (non-superuser) role.
    pub fn module_pool(&self, module: &Module) -> anyhow::Result<PgPool> {
        let mut cfg = PlatformConfig::load(None)?.database;
        cfg.url = url_for(&self.name);
        Ok(psa_db::module_pool(&cfg, &module.db)?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url()).await.ok()?;
                exec(
                    &mut admin,
                    format!("drop database if exists {name} with (force)"),
                )
                .await
                .ok()
            })
        })
        .join();
    }
}

/// The application under test, served on 127.0.0.1 on a random port.
pub struct TestApp {
    pub base_url: String,
    pub http: reqwest::Client,
    pub key: Arc<SigningKey>,
    pub db: TestDb,
    pub config: PlatformConfig,
    server: tokio::task::JoinHandle<()>,
    /// Whether the test reached the broker through [`TestApp::bus`].
    used_bus: std::sync::atomic::AtomicBool,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        // The per-test archive is a stream, and streams cannot expire by
        // themselves: deleted here, or they would pile up in the broker.
        if self.config.events.enabled || self.used_bus.load(std::sync::atomic::Ordering::SeqCst) {
            let bus = self.bus();
            // Drop runs outside any runtime guarantee: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(bus.delete_archive()).ok()
            })
            .join();
        }
    }
}

fn base64_key() -> String {
    let bytes: Vec<u8> = Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

impl TestApp {
    pub async fn spawn(modules: &[Module]) -> anyhow::Result<Self> {
        Self::spawn_with(modules, |_| {}).await
    }

    /// Like `spawn`, letting the test adjust the configuration (e.g. point the
    /// modules at a fault proxy). The platform's own issuer is the app's URL,
    /// and the test key is trusted as issuer [`ISSUER`].
    pub async fn spawn_with(
        modules: &[Module],
        adjust: impl FnOnce(&mut PlatformConfig),
    ) -> anyhow::Result<Self> {
        let served = modules.to_vec();
        Self::spawn_custom(modules, adjust, move |cfg, verifier| {
            Ok((psa_runtime::serve::app(cfg, &served, verifier)?, Vec::new()))
        })
        .await
    }

    /// The most general form: `build` makes the application (e.g. the
    /// gateway in front of the modules) from the test configuration.
    pub async fn spawn_custom(
        modules: &[Module],
        adjust: impl FnOnce(&mut PlatformConfig),
        build: impl FnOnce(
            &PlatformConfig,
            Arc<psa_authn::Verifier>,
        ) -> anyhow::Result<(axum::Router, Vec<tokio::task::JoinHandle<()>>)>,
    ) -> anyhow::Result<Self> {
        let db = TestDb::create(modules).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut config = PlatformConfig::load(None)?;
        config.database.url = url_for(&db.name);
        config.database.acquire_timeout_ms = 1500;
        config.http.public_url = base_url.clone();
        config.auth.dev.enabled = true;
        config.auth.dev.issuer = ISSUER.into();
        config.auth.dev.audience = AUDIENCE.into();
        config.auth.jwks_refetch_cooldown_secs = 0;
        config.auth_server.master_key = base64_key();
        config.auth_server.key_activation_delay_secs = 0;
        // Relays publish only where a test turns events on (with its own prefix).
        config.events.enabled = false;
        config.events.prefix = format!("psa.test.{}.", Uuid::new_v4().simple());
        // Per-test queues and exchanges vanish by themselves once unused.
        config.events.queue_expires_ms = 300_000;
        config.gateway.rate_limit.key_prefix = format!("psa:test:{}:", Uuid::new_v4().simple());
        config
            .auth_server
            .clients
            .push(psa_runtime::config::OAuthClient {
                client_id: "test-client".into(),
                redirect_uris: vec![format!("{base_url}/callback")],
            });
        adjust(&mut config);
        let key = Arc::new(SigningKey::generate());
        let verifier = psa_runtime::serve::verifier_with(&config, Some(&key))?;
        let (app, _background) = build(&config, verifier)?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        Ok(Self {
            base_url,
            http: http_client(),
            key,
            db,
            config,
            server,
            used_bus: Default::default(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A new active tenant as the auth module keeps them (for what needs the
    /// tenant to exist there: API keys, service accounts, users): its id and
    /// slug (company ID).
    pub async fn auth_tenant(&self) -> anyhow::Result<(Uuid, String)> {
        let id = Uuid::now_v7();
        let slug = format!("t{}", &id.simple().to_string()[20..]);
        sqlx::query(
            "insert into auth.tenants (id, slug, name, status) values ($1, $2, $3, 'active')",
        )
        .bind(id)
        .bind(&slug)
        .bind(format!("Tenant {slug}"))
        .execute(&self.db.admin)
        .await?;
        Ok((id, slug))
    }

    /// A valid access token for the tenant with exactly these permissions.
    pub fn token(&self, tenant: Uuid, permissions: &[&str]) -> String {
        self.key
            .access_token(ISSUER, AUDIENCE, tenant, "test-user", permissions, 600)
            .unwrap_or_else(|e| panic!("signing a test token: {e}"))
    }
}

/// Captures every log line of the process (JSON), for tests that assert on
/// logs. Installs the global subscriber: use it in one test per binary.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn install(level: tracing::Level) -> Self {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(level)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only one log capture per test binary");
        capture
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}
