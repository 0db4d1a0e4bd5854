//! The `psa` command end to end, as README's first command uses it: migrate a
//! fresh database, seed the demo, serve, and call the API with the printed token.

use std::process::Command;

use uuid::Uuid;

mod support;

use support::{Setup, drop_all, psa, serve, setup};

#[tokio::test]
async fn migrate_seed_serve_and_use_the_printed_token() {
    let Setup {
        db,
        admin,
        server_url,
        dir,
        port,
        env,
    } = setup("psa_cli");

    let out = psa(&env).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Migrating again is a no-op.
    assert!(psa(&env).arg("migrate").output().unwrap().status.success());

    // The end-of-life snapshot is refreshed from a file; a bad one changes nothing.
    std::fs::create_dir_all(&dir).unwrap();
    let snapshot = dir.join("eol.json");
    std::fs::write(
        &snapshot,
        r#"{"source": "test", "as_of": "2031-01-01", "products": [{"product": "debian",
            "label": "Debian", "match": ["debian"], "cycles": [{"cycle": "14", "eol": "2031-06-30"},
            {"cycle": "13", "eol": "2030-06-30"}]}]}"#,
    )
    .unwrap();
    let out = psa(&env)
        .args(["assets", "import-eol"])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import-eol: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 products, 2 cycles"));
    std::fs::write(&snapshot, r#"{"source": "test", "products": []}"#).unwrap();
    let out = psa(&env)
        .args(["assets", "import-eol"])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a file without as_of is refused");
    let pool = sqlx::PgPool::connect(&format!("{server_url}/{db}"))
        .await
        .unwrap();
    let cycles: Vec<String> =
        sqlx::query_scalar("select cycle from assets.eol_cycles order by cycle")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(cycles, ["13", "14"]);
    pool.close().await;

    let seed = psa(&env).arg("seed-demo").output().unwrap();
    assert!(
        seed.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let stdout = String::from_utf8(seed.stdout).unwrap();
    let token = stdout.lines().last().unwrap().to_owned();
    let client_line = stdout
        .lines()
        .find(|l| l.starts_with("Infexio service account:"))
        .unwrap();
    let words: Vec<&str> = client_line.split_whitespace().collect();
    let (_client_id, _client_secret) = (words[4].to_owned(), words[6].to_owned());
    // Seeding twice creates nothing new.
    assert!(
        psa(&env)
            .arg("seed-demo")
            .output()
            .unwrap()
            .status
            .success()
    );

    let server = serve(&env, &["serve", "all"]);

    let demo = psa_testkit::Client::new(format!("http://127.0.0.1:{port}")).bearer(&token);
    let res = demo.get("/v1/customers").await;
    assert!(
        res.header("ratelimit-policy").is_some(),
        "serve all is fronted by the gateway"
    );
    let names: Vec<&str> = res
        .items()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "three demo customers, seeded once: {names:?}"
    );
    let tickets = demo.get("/v1/tickets").await;
    let tickets = tickets.items();
    assert_eq!(
        tickets.len(),
        6,
        "two demo tickets per customer, seeded once"
    );
    assert!(
        tickets.iter().all(|t| t["response_due_at"].is_string()),
        "with SLA due times from the contracts"
    );
    let assets = demo.get("/v1/assets").await;
    assert_eq!(
        assets.items().len(),
        6,
        "two demo assets per customer, seeded once"
    );
    assert_eq!(demo.get("/v1/licenses").await.items().len(), 3);

    let dev = psa(&env)
        .args([
            "dev-token",
            "--tenant",
            &Uuid::now_v7().to_string(),
            "--permissions",
            "customers:read",
            "--ttl",
            "5m",
        ])
        .output()
        .unwrap();
    let other_tenant = String::from_utf8(dev.stdout).unwrap().trim().to_owned();
    assert!(
        demo.bearer(other_tenant)
            .get("/v1/customers")
            .await
            .items()
            .is_empty(),
        "another tenant sees none of the demo"
    );

    drop(server);
    drop_all(&admin, &db, &dir).await;
}

#[test]
fn a_wrong_config_key_fails_at_start_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_psa"))
        .arg("migrate")
        .env("PSA_DATABASE__MAX_CONECTIONS", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_conections"), "{err}");
}

/// notify killed (SIGKILL) with 100 deliveries pending, then restarted:
/// every one is delivered, and none twice to a receiver that had answered.
/// One delivery at a time to the endpoint, and the 30th is answered only
/// after three seconds: the kill, when it arrives, finds it under way and
/// unanswered — the only one that may (and must) be sent again.
#[tokio::test]
async fn notify_killed_mid_delivery_delivers_everything_once() {
    use psa_testkit::peers::{Receiver, eventually};
    use serde_json::json;

    let Setup {
        db,
        admin,
        server_url,
        dir,
        port,
        mut env,
    } = setup("psa_notify");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("psa.toml");
    std::fs::write(
        &config,
        "[notify]\nper_endpoint_concurrency = 1\ntimeout_ms = 1000\npoll_ms = 50\n\
         retry_delays_ms = [50, 50, 50]\n\n[notify.outbound]\nallow_http = true\n\
         allow_networks = [\"127.0.0.1/32\"]\n",
    )
    .unwrap();
    env.push(("PSA_CONFIG".into(), config.display().to_string()));
    env.push(("PSA_EVENTS__ENABLED".into(), "false".into()));
    let out = psa(&env).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant = Uuid::now_v7();
    let out = psa(&env)
        .args([
            "dev-token",
            "--tenant",
            &tenant.to_string(),
            "--permissions",
            "webhooks:admin",
        ])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let r = Receiver::start().await;
    let mut answers = vec![json!({"status": 200}); 29];
    answers.push(json!({"status": 200, "delay_ms": 3000}));
    r.script("/hook", json!(answers), json!({"status": 200}))
        .await;
    let mut server = serve(&env, &["serve", "notify"]);
    let api = psa_testkit::Client::new(format!("http://127.0.0.1:{port}")).bearer(&token);
    let hook = api
        .create(
            "/v1/webhooks",
            json!({"url": r.endpoint("/hook"), "event_types": ["*"]}),
        )
        .await;
    // 100 events fanned out as the consumer would.
    let pool = sqlx::PgPool::connect(&format!("{server_url}/{db}"))
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    psa_db::set_tenant(&mut tx, tenant).await.unwrap();
    for i in 0..100 {
        let event = psa_testkit::broker::event(tenant, "ticket.created", json!({"n": i}));
        psa_notify::repo::deliveries::fan_out(&mut tx, &event)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let under_way = r.wait_for("/hook", 30).await[29]["webhook_id"].clone();
    let _ = server.0.kill();
    let _ = server.0.wait();
    let _server = serve(&env, &["serve", "notify"]);

    let got = eventually("every event delivered", || async {
        let got = r.received("/hook").await;
        let unique: std::collections::BTreeSet<String> =
            got.iter().map(|d| d["webhook_id"].to_string()).collect();
        (unique.len() == 100).then_some(got)
    })
    .await;
    let mut seen = std::collections::BTreeMap::<String, Vec<f64>>::new();
    for d in &got {
        seen.entry(d["webhook_id"].to_string())
            .or_default()
            .push(d["received_at"].as_f64().unwrap());
    }
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        twice,
        [&under_way.to_string()],
        "only the one under way is sent again"
    );
    assert_eq!(seen[&under_way.to_string()].len(), 2);
    let hook_id = hook["id"].as_str().unwrap();
    // The last answer may still be on its way into the log.
    eventually("each delivered once in the log", || async {
        let log = api
            .all(&format!(
                "/v1/webhooks/{hook_id}/deliveries?status=delivered"
            ))
            .await;
        assert!(log.len() <= 100, "{} delivered", log.len());
        (log.len() == 100).then_some(())
    })
    .await;
    pool.close().await;
    drop(_server);
    drop_all(&admin, &db, &dir).await;
}
