//! The HTTP side of the benchmarks in `scripts/` (run them, not this):
//!
//! - `load-tickets`: bulk tickets for a tenant (psa_testkit::bulk), analyzed;
//! - `lists`: the median latency of the common ticket lists, for each
//!   tenant given (first page, each filter, each sort, page 20);
//! - `post-tickets`: POST /v1/tickets throughput over N connections, the
//!   connections spread over the callers given (one tenant each);
//! - `invoice-run`: an invoice run over a month of N customers with M
//!   approved hours each (loaded into billing's projection), timed, with the
//!   latency of a list read while it runs; then every draft released over
//!   8 connections (each release renders its XML and PDF), timed;
//! - `graphql`: the seed's query (a customer's open tickets and assets) for
//!   50 customers as one GraphQL request vs the REST calls it replaces
//!   (1 + 2 × 50), one after another and 8 at a time, from one client.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

mod graphql;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Loads `tickets` tickets into `tenant` (as the superuser) and analyzes.
    LoadTickets {
        #[arg(long)]
        admin_url: String,
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        tickets: i64,
    },
    /// Median latency of the common ticket lists, per tenant.
    Lists {
        #[arg(long)]
        url: String,
        /// `name=token=customer_id`, once per tenant; the ratio is of the
        /// last to the first.
        #[arg(long = "tenant", required = true)]
        tenants: Vec<String>,
        /// Requests per query (after as many warm-up ones).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// `updated_since` of the changed-since query.
        #[arg(long)]
        since: String,
    },
    /// POST /v1/tickets throughput.
    PostTickets {
        #[arg(long)]
        url: String,
        /// `token=customer_id`, one per tenant; connection i posts as caller i mod n.
        #[arg(long = "caller", required = true)]
        callers: Vec<String>,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// An invoice run over November 2026 for `customers` customers with
    /// `entries` approved hours each, timed.
    InvoiceRun {
        #[arg(long)]
        url: String,
        #[arg(long)]
        admin_url: String,
        #[arg(long)]
        tenant: Uuid,
        /// A token of the tenant holding invoices:read and invoices:write.
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 1000)]
        customers: i64,
        #[arg(long, default_value_t = 20)]
        entries: i64,
    },
    /// The seed's query for `customers` customers: GraphQL vs REST.
    Graphql {
        #[arg(long)]
        url: String,
        /// A token of the tenant with customers, tickets and assets read/write.
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 50)]
        customers: usize,
        /// Timed rounds of each (after 3 to warm up).
        #[arg(long, default_value_t = 30)]
        rounds: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::LoadTickets {
            admin_url,
            tenant,
            tickets,
        } => {
            let admin = PgPool::connect(&admin_url).await?;
            psa_testkit::bulk::without_indexes(
                &admin,
                &["tickets.tickets"],
                psa_testkit::bulk::tickets(&admin, tenant, tickets),
            )
            .await?;
            sqlx::raw_sql("vacuum analyze tickets.tickets")
                .execute(&admin)
                .await?;
        }
        Command::Lists {
            url,
            tenants,
            requests,
            since,
        } => lists(&url, &tenants, requests, &since).await?,
        Command::PostTickets {
            url,
            callers,
            connections,
            seconds,
        } => post_tickets(&url, &callers, connections, Duration::from_secs(seconds)).await?,
        Command::InvoiceRun {
            url,
            admin_url,
            tenant,
            token,
            customers,
            entries,
        } => invoice_run(&url, &admin_url, tenant, &token, customers, entries).await?,
        Command::Graphql {
            url,
            token,
            customers,
            rounds,
        } => graphql::run(&url, &token, customers, rounds).await?,
    }
    Ok(())
}

async fn get(http: &Client, token: &str, url: &str) -> anyhow::Result<Value> {
    let res = http.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(status == StatusCode::OK, "GET {url}: {status} {body}");
    Ok(body)
}

/// The median time of `n` GETs of `url`, after `n` to warm up.
async fn median(http: &Client, token: &str, url: &str, n: usize) -> anyhow::Result<Duration> {
    for _ in 0..n {
        get(http, token, url).await?;
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let page = get(http, token, url).await?;
        times.push(start.elapsed());
        anyhow::ensure!(
            page["data"].as_array().is_some_and(|d| !d.is_empty()),
            "{url}: an empty page"
        );
    }
    times.sort();
    Ok(times[n / 2])
}

/// The URL of page `n` of `query`, following the cursors there.
async fn page_url(
    http: &Client,
    token: &str,
    base: &str,
    query: &str,
    n: usize,
) -> anyhow::Result<String> {
    let mut url = format!("{base}/v1/tickets?{query}");
    for _ in 1..n {
        let page = get(http, token, &url).await?;
        let cursor = page["next_cursor"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{url}: no page after this one"))?;
        url = format!("{base}/v1/tickets?{query}&cursor={cursor}");
    }
    Ok(url)
}

async fn lists(base: &str, tenants: &[String], n: usize, since: &str) -> anyhow::Result<()> {
    let http = Client::new();
    let queries: Vec<(String, String, usize)> = [
        ("first page", "limit=50".to_owned(), 1),
        ("status=open", "status=open".to_owned(), 1),
        ("customer_id", "customer_id={customer}".to_owned(), 1),
        (
            "status=open&priority=high",
            "status=open&priority=high".to_owned(),
            1,
        ),
        ("updated_since", format!("updated_since={since}"), 1),
        ("sort=created_at", "sort=created_at".to_owned(), 1),
        ("sort=-created_at", "sort=-created_at".to_owned(), 1),
        ("sort=updated_at", "sort=updated_at".to_owned(), 1),
        ("sort=-updated_at", "sort=-updated_at".to_owned(), 1),
        ("sort=number", "sort=number".to_owned(), 1),
        ("sort=-number", "sort=-number".to_owned(), 1),
        ("page 20", "limit=50".to_owned(), 20),
        (
            "page 20, sort=-updated_at",
            "sort=-updated_at".to_owned(),
            20,
        ),
        ("page 20, status=closed", "status=closed".to_owned(), 20),
    ]
    .into_iter()
    .map(|(name, q, page)| (name.to_owned(), q, page))
    .collect();
    let tenants: Vec<(&str, &str, &str)> = tenants
        .iter()
        .map(|t| {
            let mut parts = t.splitn(3, '=');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(name), Some(token), Some(customer)) => Ok((name, token, customer)),
                _ => Err(anyhow::anyhow!(
                    "--tenant is name=token=customer_id, not {t}"
                )),
            }
        })
        .collect::<Result<_, _>>()?;
    print!("{:<28}", "median latency (ms)");
    for (name, ..) in &tenants {
        print!("{name:>12}");
    }
    println!("{:>8}", "ratio");
    let mut worst: f64 = 0.0;
    for (name, query, page) in &queries {
        print!("{name:<28}");
        let mut times = vec![];
        for (_, token, customer) in &tenants {
            let query = query.replace("{customer}", customer);
            let url = page_url(&http, token, base, &query, *page).await?;
            let t = median(&http, token, &url, n).await?.as_secs_f64() * 1000.0;
            print!("{t:>12.2}");
            times.push(t);
        }
        let ratio = times.last().unwrap_or(&0.0) / times.first().unwrap_or(&1.0);
        worst = worst.max(ratio);
        println!("{ratio:>8.2}");
    }
    println!("worst ratio {worst:.2} (target <= 1.5)");
    Ok(())
}

async fn post_tickets(
    base: &str,
    callers: &[String],
    connections: usize,
    run: Duration,
) -> anyhow::Result<()> {
    let callers: Vec<(String, String)> = callers
        .iter()
        .map(|c| {
            c.split_once('=')
                .map(|(t, c)| (t.to_owned(), c.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--caller is token=customer_id, not {c}"))
        })
        .collect::<Result<_, _>>()?;
    let url = format!("{base}/v1/tickets");
    // Two seconds to warm up (connections, prepared statements), then the run.
    let mut counts = [0u64; 2];
    let mut failed = 0u64;
    for (phase, length) in [(0, Duration::from_secs(2)), (1, run)] {
        let until = Instant::now() + length;
        let mut tasks = JoinSet::new();
        for i in 0..connections {
            let (token, customer) = callers[i % callers.len()].clone();
            let url = url.clone();
            tasks.spawn(async move {
                // One HTTP/1.1 connection per task.
                let http = Client::builder().pool_max_idle_per_host(1).build()?;
                let body = json!({"title": "Printer on fire", "priority": "high", "customer_id": customer});
                let (mut ok, mut failed) = (0u64, 0u64);
                while Instant::now() < until {
                    let res = http.post(&url).bearer_auth(&token).json(&body).send().await?;
                    if res.status() == StatusCode::CREATED {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                    res.bytes().await?;
                }
                anyhow::Ok((ok, failed))
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (ok, bad) = done??;
            counts[phase] += ok;
            failed += bad;
        }
    }
    anyhow::ensure!(failed == 0, "{failed} POSTs were not 201");
    let rate = counts[1] as f64 / run.as_secs_f64();
    println!(
        "POST /v1/tickets: {connections} connections, {} tenant(s): {rate:.0} tickets/s",
        callers.len()
    );
    Ok(())
}

async fn invoice_run(
    base: &str,
    admin_url: &str,
    tenant: Uuid,
    token: &str,
    customers: i64,
    entries: i64,
) -> anyhow::Result<()> {
    let admin = PgPool::connect(admin_url).await?;
    psa_testkit::bulk::billing(&admin, tenant, customers, entries).await?;
    sqlx::raw_sql("analyze billing.customers, billing.contracts, billing.tickets, billing.items")
        .execute(&admin)
        .await?;
    let http = Client::new();
    let started = Instant::now();
    let res = http
        .post(format!("{base}/v1/invoice-runs"))
        .bearer_auth(token)
        .json(&json!({"period": {"from": "2026-11-01", "to": "2026-11-30"}}))
        .send()
        .await?;
    anyhow::ensure!(
        res.status() == StatusCode::ACCEPTED,
        "POST /v1/invoice-runs: {}",
        res.status()
    );
    let accepted = started.elapsed();
    let run: Value = res.json().await?;
    let run_url = format!(
        "{base}/v1/invoice-runs/{}",
        run["id"].as_str().unwrap_or_default()
    );
    // While the run goes: a list read, one after the other, timed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (http, token, stop) = (http.clone(), token.to_owned(), stop.clone());
        let url = format!("{base}/v1/invoices?limit=10");
        tokio::spawn(async move {
            let mut times = vec![];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                get(&http, &token, &url).await?;
                times.push(t.elapsed());
            }
            anyhow::Ok(times)
        })
    };
    let (done, last) = loop {
        let run = get(&http, token, &run_url).await?;
        if run["status"] != "running" {
            break (started.elapsed(), run);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut times = reader.await??;
    times.sort();
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    anyhow::ensure!(last["status"] == "completed", "the run ended {last}");
    println!(
        "invoice run: {customers} customers x {entries} entries: {} drafts in {:.1} s ({:.0} customers/s; POST answered in {:.0} ms)",
        last["invoices_created"],
        done.as_secs_f64(),
        customers as f64 / done.as_secs_f64(),
        accepted.as_secs_f64() * 1000.0
    );
    println!(
        "GET /v1/invoices?limit=10 during the run: n={} p50={:.1} ms p99={:.1} ms",
        times.len(),
        pct(0.5),
        pct(0.99)
    );
    release_all(&http, base, token).await
}

/// Releases every draft of the tenant over 8 connections: releases per
/// second and the latency of one release (its files rendered and kept).
async fn release_all(http: &Client, base: &str, token: &str) -> anyhow::Result<()> {
    let seller = json!({"legal_name": "Muster IT GmbH", "vat_id": "DE123456789",
        "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"},
        "iban": "DE02120300000000202051"});
    let res = http
        .patch(format!("{base}/v1/billing/settings"))
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(seller.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        res.status() == StatusCode::OK,
        "PATCH settings: {}",
        res.status()
    );
    let mut ids = vec![];
    let mut url = format!("{base}/v1/invoices?status=draft&limit=100");
    loop {
        let page = get(http, token, &url).await?;
        for i in page["data"].as_array().into_iter().flatten() {
            ids.push(i["id"].as_str().unwrap_or_default().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{base}/v1/invoices?status=draft&limit=100&cursor={c}"),
            None => break,
        }
    }
    anyhow::ensure!(!ids.is_empty(), "no drafts to release");
    let queue = std::sync::Arc::new(std::sync::Mutex::new(ids));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let (http, queue, token, base) = (
            http.clone(),
            queue.clone(),
            token.to_owned(),
            base.to_owned(),
        );
        tasks.spawn(async move {
            let mut times = vec![];
            loop {
                let Some(id) = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop() else {
                    break;
                };
                let t = Instant::now();
                let res = http
                    .post(format!("{base}/v1/invoices/{id}/release"))
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await?;
                let status = res.status();
                let doc: Value = res.json().await?;
                anyhow::ensure!(
                    status == StatusCode::OK
                        && doc["files"].as_array().is_some_and(|f| f.len() == 2),
                    "release {id}: {status} {doc}"
                );
                times.push(t.elapsed());
            }
            anyhow::Ok(times)
        });
    }
    let mut times = vec![];
    while let Some(done) = tasks.join_next().await {
        times.extend(done??);
    }
    let took = started.elapsed();
    times.sort();
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "release: {} documents over 8 connections in {:.1} s ({:.0}/s), each with its XML and PDF: p50={:.1} ms p99={:.1} ms",
        times.len(),
        took.as_secs_f64(),
        times.len() as f64 / took.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
