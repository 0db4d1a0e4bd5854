//! `graphql`: the seed's query (a customer's open tickets and assets) for
//! many customers as one GraphQL request vs the REST calls it replaces.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::get;

async fn post(http: &Client, token: &str, url: &str, body: &Value) -> anyhow::Result<Value> {
    let res = http
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "POST {url}: {status} {body}");
    Ok(body)
}

/// `post`, retried for up to 30 s while the module has not yet learnt the
/// customer from CRM's events (422 `unknown_customer`).
async fn post_known(http: &Client, token: &str, url: &str, body: &Value) -> anyhow::Result<Value> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        match post(http, token, url, body).await {
            Err(e) if e.to_string().contains("unknown_customer") && Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// The customers' open tickets and assets (10 of each), the REST way:
/// the customer page, then two lists per customer, `parallel` at a time.
/// Answers (customers, open tickets, assets) found.
async fn seed_query_rest(
    http: &Client,
    token: &str,
    base: &str,
    n: usize,
    parallel: usize,
) -> anyhow::Result<(usize, usize, usize)> {
    let page = get(http, token, &format!("{base}/v1/customers?limit={n}")).await?;
    let ids: Vec<String> = page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let mut urls = vec![];
    for id in &ids {
        urls.push(format!(
            "{base}/v1/tickets?customer_id={id}&status=open&limit=10"
        ));
        urls.push(format!("{base}/v1/assets?customer_id={id}&limit=10"));
    }
    let mut counts = vec![0usize; urls.len()];
    let mut next = 0;
    let mut tasks = JoinSet::new();
    while next < urls.len() || !tasks.is_empty() {
        while next < urls.len() && tasks.len() < parallel {
            let (http, token, url, i) = (http.clone(), token.to_owned(), urls[next].clone(), next);
            tasks.spawn(async move {
                let page = get(&http, &token, &url).await?;
                anyhow::Ok((i, page["data"].as_array().map_or(0, Vec::len)))
            });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            let (i, found) = done??;
            counts[i] = found;
        }
    }
    let tickets = counts.iter().step_by(2).sum();
    let assets = counts.iter().skip(1).step_by(2).sum();
    Ok((ids.len(), tickets, assets))
}

/// The same as one GraphQL request.
async fn seed_query_graphql(
    http: &Client,
    token: &str,
    base: &str,
    n: usize,
) -> anyhow::Result<(usize, usize, usize)> {
    let query = format!(
        "{{ customers(first: {n}) {{ edges {{ node {{ id name \
         tickets(status: OPEN, first: 10) {{ edges {{ node {{ id title priority }} }} }} \
         assets(first: 10) {{ edges {{ node {{ name type }} }} }} }} }} }} }}"
    );
    let body = post(
        http,
        token,
        &format!("{base}/graphql"),
        &json!({"query": query}),
    )
    .await?;
    anyhow::ensure!(body.get("errors").is_none(), "GraphQL: {body}");
    let edges = |v: &Value| v["edges"].as_array().cloned().unwrap_or_default();
    let customers = edges(&body["data"]["customers"]);
    let tickets = customers
        .iter()
        .map(|c| edges(&c["node"]["tickets"]).len())
        .sum();
    let assets = customers
        .iter()
        .map(|c| edges(&c["node"]["assets"]).len())
        .sum();
    Ok((customers.len(), tickets, assets))
}

pub async fn run(base: &str, token: &str, n: usize, rounds: usize) -> anyhow::Result<()> {
    let http = Client::new();
    // Customers up to n, each with an open ticket, a new one and two assets.
    let have = get(&http, token, &format!("{base}/v1/customers?limit=200")).await?["data"]
        .as_array()
        .map_or(0, Vec::len);
    let mut created = vec![];
    for i in have..n {
        let c = post(
            &http,
            token,
            &format!("{base}/v1/customers"),
            &json!({"name": format!("Bench customer {i:03}")}),
        )
        .await?;
        created.push((i, c["id"].as_str().unwrap_or_default().to_owned()));
    }
    for (i, id) in &created {
        for title in ["VPN drops every hour", "New laptop for accounting"] {
            post_known(
                &http,
                token,
                &format!("{base}/v1/tickets"),
                &json!({"customer_id": id, "title": title}),
            )
            .await?;
        }
        let open = get(
            &http,
            token,
            &format!("{base}/v1/tickets?customer_id={id}&limit=1"),
        )
        .await?;
        if let Some(t) = open["data"][0]["id"].as_str() {
            let res = http
                .patch(format!("{base}/v1/tickets/{t}"))
                .bearer_auth(token)
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"status": "open"}"#)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "PATCH ticket: {}", res.status());
        }
        for (name, kind) in [("WS01", "workstation"), ("FW01", "firewall")] {
            post_known(
                &http,
                token,
                &format!("{base}/v1/assets"),
                &json!({"customer_id": id, "name": format!("B{i:03}-{name}"), "type": kind}),
            )
            .await?;
        }
    }

    let found = seed_query_graphql(&http, token, base, n).await?;
    let rest = seed_query_rest(&http, token, base, n, 1).await?;
    anyhow::ensure!(
        found == rest,
        "GraphQL found {found:?} (customers, open tickets, assets), REST {rest:?}"
    );
    println!(
        "{} customers, {} open tickets, {} assets; REST: {} calls",
        found.0,
        found.1,
        found.2,
        1 + 2 * found.0
    );
    async fn timed<F, Fut>(rounds: usize, mut f: F) -> anyhow::Result<(f64, f64)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<(usize, usize, usize)>>,
    {
        for _ in 0..3 {
            f().await?;
        }
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            f().await?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        Ok((times[rounds / 2], times[(rounds * 9 / 10).min(rounds - 1)]))
    }
    let gql = timed(rounds, || seed_query_graphql(&http, token, base, n)).await?;
    let seq = timed(rounds, || seed_query_rest(&http, token, base, n, 1)).await?;
    let par = timed(rounds, || seed_query_rest(&http, token, base, n, 8)).await?;
    println!(
        "graphql, one request: median {:.1} ms, p90 {:.1} ms",
        gql.0, gql.1
    );
    println!(
        "rest, one call at a time: median {:.1} ms, p90 {:.1} ms",
        seq.0, seq.1
    );
    println!(
        "rest, 8 calls at a time: median {:.1} ms, p90 {:.1} ms",
        par.0, par.1
    );
    println!(
        "graphql faster: {:.1}x than rest one at a time, {:.1}x than rest 8 at a time",
        seq.0 / gql.0,
        par.0 / gql.0
    );
    Ok(())
}
