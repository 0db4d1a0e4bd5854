//! The platform as production runs it, for end-to-end tests: every module is
//! its own HTTP server (own listener, router and workers), the gateway sits
//! in front of them over HTTP, events go through the real RabbitMQ, and
//! callers use real tokens from the auth module (client credentials).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use psa_runtime::{Module, PlatformConfig, Registry};
use psa_testkit::{Client, TestApp, fixtures};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How a module is made (its crate's `module()`).
pub type ModuleFn = fn() -> Module;

/// The modules behind the gateway, each served by its own server.
pub const MODULES: &[(&str, ModuleFn)] = &[
    ("auth", psa_auth::module),
    ("crm", psa_crm::module),
    ("tickets", psa_tickets::module),
    ("billing", psa_billing::module),
    ("assets", psa_assets::module),
];

/// The platform these tests run: the gateway and [`MODULES`].
pub fn registry() -> Arc<Registry> {
    let modules = std::iter::once(psa_gateway::module()).chain(MODULES.iter().map(|(_, m)| m()));
    Arc::new(Registry::new(modules).expect("the modules fit together"))
}

struct Server {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub struct Platform {
    /// The gateway, the platform's one front door (`gw.client(token)` calls it).
    pub gw: TestApp,
    addrs: HashMap<&'static str, SocketAddr>,
    servers: Mutex<HashMap<&'static str, Server>>,
}

impl Platform {
    /// Starts every module and the gateway; `adjust` changes the shared
    /// configuration first (events are on, with the test's own prefix).
    pub async fn start(adjust: impl FnOnce(&mut PlatformConfig)) -> Self {
        let mut listeners = HashMap::new();
        let mut addrs = HashMap::new();
        for (name, _) in MODULES {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            addrs.insert(*name, l.local_addr().expect("its address"));
            listeners.insert(*name, l);
        }
        let mut db_modules = vec![psa_gateway::module()];
        db_modules.extend(MODULES.iter().map(|(_, m)| m()));
        let upstreams = addrs.clone();
        let gw = TestApp::spawn_custom(
            &db_modules,
            move |cfg| {
                cfg.events.enabled = true;
                for (name, addr) in &upstreams {
                    cfg.gateway
                        .upstreams
                        .insert((*name).to_owned(), format!("http://{addr}"));
                }
                adjust(cfg);
            },
            |cfg, verifier| psa_gateway::app(cfg, registry(), &[], verifier),
        )
        .await
        .expect("the gateway starts");
        let platform = Self {
            gw,
            addrs,
            servers: Mutex::new(HashMap::new()),
        };
        for (name, listener) in listeners {
            platform.serve(name, listener);
        }
        platform
    }

    fn serve(&self, name: &'static str, listener: tokio::net::TcpListener) {
        let cfg = &self.gw.config;
        let verifier =
            psa_runtime::serve::verifier_with(cfg, Some(&self.gw.key)).expect("a verifier");
        let router = psa_runtime::serve::app_in(cfg, registry(), &[name], verifier)
            .expect("the module mounts");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        });
        self.servers
            .lock()
            .expect("not poisoned")
            .insert(name, Server { shutdown: tx, task });
    }

    /// Stops a module as a process stop would: no new connections, open ones
    /// closed once their requests are done, its workers gone.
    pub async fn stop(&self, name: &str) {
        let server = self
            .servers
            .lock()
            .expect("not poisoned")
            .remove(name)
            .expect("a running module");
        let _ = server.shutdown.send(());
        server.task.await.expect("the server ends");
    }

    /// Starts a stopped module again on its old address.
    pub async fn restart(&self, name: &'static str) {
        let listener = tokio::net::TcpListener::bind(self.addrs[name])
            .await
            .expect("its old port");
        self.serve(name, listener);
    }

    /// A new active tenant with an admin (test issuer token, all of the
    /// built-in admin role's permissions).
    pub async fn tenant(&self) -> Tenant {
        let (id, _) = self.gw.auth_tenant().await.expect("a tenant");
        let perms = registry().builtin_role("admin").expect("the admin role");
        Tenant {
            id,
            admin: self.gw.client_for(id, &perms),
        }
    }
}

pub struct Tenant {
    pub id: Uuid,
    /// The tenant's admin, for set-up (service accounts, audit log).
    pub admin: Client,
}

impl Tenant {
    /// A service account with `permissions`, signed in the real way: client
    /// credentials at `/oauth/token` through the gateway.
    pub async fn service_account(&self, permissions: &[&str]) -> Client {
        let account = fixtures::service_account(&self.admin, permissions).await;
        fixtures::signed_in(&self.admin, &account).await
    }
}
