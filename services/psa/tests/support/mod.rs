//! What the tests that run `psa` as a process share: a fresh database, a
//! directory, a free port and the environment pointing `psa` at them, and a
//! server started in the background.
#![allow(dead_code)] // each test crate uses its part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use uuid::Uuid;

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn psa(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_psa"));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// A fresh database's name, its admin URL's server part, a directory for
/// keys and files, a free port, and the environment that points `psa` at
/// them (development key on, JSON logs).
pub struct Setup {
    pub db: String,
    pub admin: String,
    pub server_url: String,
    pub dir: std::path::PathBuf,
    pub port: u16,
    pub env: Vec<(String, String)>,
}

/// Drops the test's database and removes its directory.
pub async fn drop_all(admin: &str, db: &str, dir: &std::path::Path) {
    let mut admin_conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database {db} with (force)"
    )))
    .execute(&mut admin_conn)
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

pub fn setup(prefix: &str) -> Setup {
    let db = format!("{prefix}_{}", Uuid::new_v4().simple());
    let admin = psa_testkit::admin_url();
    let server_url = admin.rsplit_once('/').map(|(s, _)| s.to_owned()).unwrap();
    let dir = std::env::temp_dir().join(&db);
    let port = free_port();
    let env: Vec<(String, String)> = vec![
        (
            "PSA_DATABASE__ADMIN_URL".into(),
            format!("{server_url}/{db}"),
        ),
        (
            "PSA_DATABASE__URL".into(),
            format!("postgres://{}/{db}", psa_testkit::postgres_addr()),
        ),
        ("PSA_AUTH__DEV__ENABLED".into(), "true".into()),
        (
            "PSA_AUTH__DEV__KEY_FILE".into(),
            dir.join("key.der").display().to_string(),
        ),
        ("PSA_HTTP__BIND".into(), format!("127.0.0.1:{port}")),
        (
            "PSA_HTTP__PUBLIC_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        (
            "PSA_AUTH_SERVER__MASTER_KEY_FILE".into(),
            dir.join("master.key").display().to_string(),
        ),
        ("PSA_AUTH_SERVER__CREATE_MASTER_KEY".into(), "true".into()),
        ("PSA_TELEMETRY__LOG_FORMAT".into(), "json".into()),
    ];
    Setup {
        db,
        admin,
        server_url,
        dir,
        port,
        env,
    }
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `psa <args>` (`serve all`, `serve notify`, …) started in the
/// background, once it has announced itself (the listener is bound before
/// the "serving" line is written); its log is drained so it never blocks.
pub fn serve(env: &[(String, String)], args: &[&str]) -> Server {
    let mut child = psa(env).args(args).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let serving = lines
        .by_ref()
        .take(200)
        .map_while(Result::ok)
        .any(|l| l.contains("\"serving\""));
    assert!(serving, "psa {args:?} announced itself");
    std::thread::spawn(move || lines.for_each(drop));
    Server(child)
}
