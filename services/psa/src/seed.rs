//! `psa seed-demo`: a demo tenant with customers, contacts, sites and
//! contracts, written through the modules' own HTTP handlers (in-process), so
//! demo data passes the same validation as any client's. Safe to run again.

use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use psa_authn::keys::SigningKey;
use psa_authn::{IssuerConfig, Verifier};
use psa_runtime::PlatformConfig;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use crate::registry;

/// The demo tenant's fixed id, so seeding twice finds the first run's data.
pub const DEMO_TENANT: Uuid = Uuid::from_u128(0x0194_0000_0000_7000_8000_0000_0000_0de0);

const SEED_ISSUER: &str = "urn:psa:seed";

struct Client {
    app: axum::Router,
    token: String,
}

/// What a rerun finds already there is fine; anything else is an error.
fn created_or_exists(status: StatusCode, path: &str, value: &Value) -> anyhow::Result<bool> {
    match status {
        StatusCode::CREATED | StatusCode::OK => Ok(true),
        StatusCode::CONFLICT => Ok(false),
        s => bail!("{path} answered {s}: {value}"),
    }
}

impl Client {
    /// POSTs and returns the created (or, for a rerun, the existing) resource.
    async fn create(
        &self,
        path: &str,
        body: Value,
        existing: Option<&str>,
    ) -> anyhow::Result<Value> {
        let req = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))?;
        let (status, value) = self.send(req).await?;
        match status {
            StatusCode::CREATED => Ok(value),
            StatusCode::CONFLICT => {
                let query = existing.context("unexpected conflict")?;
                let (_, found) = self.get(&format!("{path}?{query}")).await?;
                let first = found["data"][0].clone();
                if first.is_object() {
                    Ok(first)
                } else {
                    bail!("POST {path} conflicted but nothing matches {query}")
                }
            }
            s => bail!("POST {path} answered {s}: {value}"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
        let req = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))?;
        self.send(req).await
    }

    async fn patch(&self, path: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
        let req = Request::patch(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .body(Body::from(body.to_string()))?;
        self.send(req).await
    }

    fn with_token(&self, token: String) -> Client {
        Client {
            app: self.app.clone(),
            token,
        }
    }

    /// Makes the user (or finds it) and gives it a fresh password, returned.
    async fn ensure_user(&self, email: &str, name: &str, roles: &[&str]) -> anyhow::Result<String> {
        let password = format!("demo-{}", Uuid::new_v4().simple());
        let (status, v) = self
            .post(
                "/v1/users",
                json!({"email": email, "name": name, "roles": roles, "password": password}),
            )
            .await?;
        if !created_or_exists(status, "/v1/users", &v)? {
            let (_, list) = self.get("/v1/users?limit=200").await?;
            let id = list["data"]
                .as_array()
                .and_then(|d| d.iter().find(|u| u["email"] == email))
                .and_then(|u| u["id"].as_str())
                .context("existing user not listed")?
                .to_owned();
            let (s, v) = self
                .post(
                    &format!("/v1/users/{id}/password"),
                    json!({"password": password}),
                )
                .await?;
            if s != StatusCode::NO_CONTENT {
                bail!("setting the password answered {s}: {v}");
            }
        }
        Ok(password)
    }

    async fn get(&self, path_and_query: &str) -> anyhow::Result<(StatusCode, Value)> {
        let req = Request::get(path_and_query)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())?;
        self.send(req).await
    }

    async fn send(&self, req: Request<Body>) -> anyhow::Result<(StatusCode, Value)> {
        let res = self.app.clone().oneshot(req).await?;
        let status = res.status();
        let bytes = res.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }
}

fn sla() -> Value {
    let t = |r: u32, s: u32| json!({"response_minutes": r, "resolution_minutes": s});
    json!({"low": t(480, 4800), "medium": t(240, 1440), "high": t(60, 480), "critical": t(15, 240)})
}

fn business_hours(tz: &str) -> Value {
    let windows: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "start": "08:00", "end": "17:00"}))
        .collect();
    json!({"time_zone": tz, "windows": windows})
}

fn pool_for(cfg: &PlatformConfig, db: &psa_db::ModuleDb) -> anyhow::Result<sqlx::PgPool> {
    Ok(psa_db::module_pool(&cfg.database, db)?)
}

/// Two tickets per demo customer. The tickets module learns customers and
/// contracts from CRM's events; the seed puts them into its projection at
/// once (the same rows the events will confirm) so the tickets get their SLA.
async fn seed_tickets(
    client: &Client,
    pool: &sqlx::PgPool,
    customer: &Value,
    contract: &Value,
) -> anyhow::Result<()> {
    let store = psa_kernel::Store::new(pool.clone(), psa_tickets::DB.schema);
    let mut tx = psa_kernel::Tx::for_tenant(&store, DEMO_TENANT).await?;
    psa_tickets::events::project(&mut tx, "customer.created", customer)
        .await
        .map_err(anyhow::Error::msg)?;
    if contract.is_object() {
        psa_tickets::events::project(&mut tx, "contract.created", contract)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    tx.commit().await?;
    let cid = &customer["id"];
    for (title, priority) in [
        ("E-mail not syncing on two laptops", "medium"),
        ("Firewall VPN tunnel down", "critical"),
    ] {
        client.create("/v1/tickets", json!({"title": title, "priority": priority, "customer_id": cid, "queue": "service-desk"}), None).await?;
    }
    Ok(())
}

/// A server (its end of life from the snapshot), a firewall and a license
/// per demo customer; like tickets, the assets module's projection gets the
/// customer at once.
async fn seed_assets(client: &Client, pool: &sqlx::PgPool, customer: &Value) -> anyhow::Result<()> {
    psa_assets::repo::eol::ensure_shipped(pool).await?;
    let store = psa_kernel::Store::new(pool.clone(), psa_assets::DB.schema);
    let mut tx = psa_kernel::Tx::for_tenant(&store, DEMO_TENANT).await?;
    psa_assets::events::project(&mut tx, "customer.created", customer)
        .await
        .map_err(anyhow::Error::msg)?;
    tx.commit().await?;
    let cid = &customer["id"];
    let number = customer["customer_number"].as_str().unwrap_or("X");
    client
        .create(
            "/v1/assets",
            json!({"customer_id": cid, "name": format!("{number}-DC01"), "type": "server",
                "manufacturer": "Dell Inc.", "model": "PowerEdge R650",
                "serial_number": format!("{number}-SRV"), "warranty_end": "2027-03-31",
                "os_name": "Microsoft Windows Server 2016 Standard", "os_version": "10.0.14393"}),
            None,
        )
        .await?;
    client
        .create(
            "/v1/assets",
            json!({"customer_id": cid, "name": format!("{number}-FW01"), "type": "firewall",
                "manufacturer": "Fortinet", "model": "FortiGate 60F",
                "serial_number": format!("{number}-FGT"), "warranty_end": "2026-12-31",
                "os_name": "FortiOS", "os_version": "7.2.8"}),
            None,
        )
        .await?;
    client
        .create(
            "/v1/licenses",
            json!({"customer_id": cid, "product": "Microsoft 365 Business Premium",
                "vendor": "Microsoft", "seats": 25, "expiry_date": "2027-01-31",
                "cost": "22.00", "currency": "EUR", "billing_cycle": "monthly"}),
            None,
        )
        .await?;
    Ok(())
}

pub async fn seed_demo(cfg: &PlatformConfig) -> anyhow::Result<()> {
    let seed_key = SigningKey::generate();
    let verifier =
        Verifier::with_static_keys(IssuerConfig::new(SEED_ISSUER, "psa"), seed_key.jwks())
            .map_err(|e| anyhow::anyhow!(e))?;
    let registry = registry()?;
    let tenant_perms = registry
        .builtin_role("admin")
        .expect("admin is a built-in role");
    let mount: Vec<&str> = registry.modules().iter().map(|m| m.name).collect();
    let app = psa_runtime::serve::app_in(cfg, registry.clone(), &mount, Arc::new(verifier))?;

    eprintln!("psa: [auth] operator and demo tenants, users, service account");
    let auth_pool = psa_db::module_pool(&cfg.database, &psa_auth::DB)?;
    let operator =
        psa_auth::ensure_platform_tenant(&auth_pool, "operator", "Platform operator").await?;
    let mut operator_perms = tenant_perms.clone();
    operator_perms.push("tenants:admin");
    let ops = Client {
        app: app.clone(),
        token: seed_key.access_token(
            SEED_ISSUER,
            "psa",
            operator,
            "seed-demo",
            &operator_perms,
            600,
        )?,
    };
    let (s, v) = ops
        .post(
            "/v1/tenants",
            json!({"id": DEMO_TENANT, "slug": "demo", "name": "Demo MSP"}),
        )
        .await?;
    created_or_exists(s, "/v1/tenants", &v)?;
    let (s, v) = ops.post("/v1/roles", json!({"name": "platform-admin", "description": "manages tenants", "permissions": ["tenants:admin"]})).await?;
    created_or_exists(s, "/v1/roles", &v)?;
    let operator_password = ops
        .ensure_user(
            "operator@platform.example",
            "Platform operator",
            &["admin", "platform-admin"],
        )
        .await?;

    let client = ops.with_token(seed_key.access_token(
        SEED_ISSUER,
        "psa",
        DEMO_TENANT,
        "seed-demo",
        &tenant_perms,
        600,
    )?);
    let admin_password = client
        .ensure_user("admin@demo.example", "Demo admin", &["admin"])
        .await?;
    client
        .ensure_user("tech@demo.example", "Terry Technician", &["technician"])
        .await?;
    let (_, accounts) = client.get("/v1/service-accounts?limit=200").await?;
    let existing = accounts["data"]
        .as_array()
        .and_then(|d| d.iter().find(|a| a["name"] == "Infexio sync"))
        .and_then(|a| a["id"].as_str())
        .map(str::to_owned);
    let (s, account) = match existing {
        Some(id) => client.post(&format!("/v1/service-accounts/{id}/rotate-secret"), json!({"overlap_secs": 0})).await?,
        None => client.post("/v1/service-accounts", json!({"name": "Infexio sync", "permissions": ["customers:read", "customers:write", "contracts:read"]})).await?,
    };
    if !s.is_success() {
        bail!("service account answered {s}: {account}");
    }
    eprintln!("psa: [billing] the demo MSP as seller");
    let (s, v) = client
        .patch(
            "/v1/billing/settings",
            json!({"legal_name": "Demo MSP GmbH", "vat_id": "DE123456789", "tax_number": "143/123/45678",
                "address": {"line1": "Marktplatz 1", "postal_code": "80331", "city": "München", "country": "DE"},
                "iban": "DE02120300000000202051", "bic": "BYLADEM1001", "contact_name": "Erika Muster",
                "contact_phone": "+49 89 123456", "contact_email": "billing@demo.example",
                "electronic_address": "billing@demo.example"}),
        )
        .await?;
    if s != StatusCode::OK {
        bail!("billing settings answered {s}: {v}");
    }

    let customers = [
        (
            "C-1001",
            "Acme Manufacturing GmbH",
            "Europe/Berlin",
            "DE",
            ("Berlin", "10115"),
            "it@acme.example",
        ),
        (
            "C-1002",
            "Globex Logistics Ltd",
            "Europe/London",
            "GB",
            ("London", "EC1A 1BB"),
            "helpdesk@globex.example",
        ),
        (
            "C-1003",
            "Initech Software Inc",
            "America/New_York",
            "US",
            ("New York", "10001"),
            "ops@initech.example",
        ),
    ];
    for (i, (number, name, tz, country, (city, postal_code), email)) in customers.iter().enumerate()
    {
        // Services abroad are outside German VAT; at home, standard rate.
        let vat_treatment = if *country == "DE" {
            "standard"
        } else {
            "outside_scope"
        };
        eprintln!("psa: [{}/{}] {name}", i + 1, customers.len());
        let customer = client
            .create(
                "/v1/customers",
                json!({"customer_number": number, "name": name, "email": email, "phone": "+49 30 1234567",
                       "website": format!("https://{}.example", name.split(' ').next().unwrap_or("x").to_lowercase()),
                       "address": {"line1": "Main Street 1", "postal_code": postal_code, "city": city, "country": country},
                       "vat_treatment": vat_treatment, "payment_terms_days": 14,
                       "external_ids": {"infexio": format!("INF-{}", 100 + i)}}),
                Some(&format!("customer_number={number}")),
            )
            .await?;
        let cid = customer["id"]
            .as_str()
            .context("customer without id")?
            .to_owned();
        let (_, contacts) = client.get(&format!("/v1/customers/{cid}/contacts")).await?;
        if contacts["data"].as_array().is_some_and(|d| d.is_empty()) {
            client
                .create(
                    "/v1/contacts",
                    json!({"customer_id": cid, "name": "Dana Admin", "email": email,
                    "title": "IT lead", "is_primary": true}),
                    None,
                )
                .await?;
            client
                .create(
                    "/v1/contacts",
                    json!({"customer_id": cid, "name": "Sam User", "title": "Office manager"}),
                    None,
                )
                .await?;
            client
                .create(
                    "/v1/sites",
                    json!({"customer_id": cid, "name": "Head office", "time_zone": tz,
                    "address": {"line1": "Main Street 1", "city": city, "country": country}}),
                    None,
                )
                .await?;
            client
                .create("/v1/contracts", json!({"customer_id": cid, "name": "Managed services", "type": "managed_services",
                    "status": "active", "start_date": "2026-01-01", "currency": if *country == "US" { "USD" } else if *country == "GB" { "GBP" } else { "EUR" },
                    "monthly_fee": "1450.00", "hourly_rate": "95.00", "sla": sla(), "business_hours": business_hours(tz)}), None)
                .await?;
        }
        let (_, tickets) = client
            .get(&format!("/v1/tickets?customer_id={cid}"))
            .await?;
        if tickets["data"].as_array().is_some_and(|d| d.is_empty()) {
            let (_, contracts) = client
                .get(&format!("/v1/customers/{cid}/contracts"))
                .await?;
            seed_tickets(
                &client,
                &pool_for(cfg, &psa_tickets::DB)?,
                &customer,
                &contracts["data"][0],
            )
            .await?;
        }
        let (_, assets) = client.get(&format!("/v1/assets?customer_id={cid}")).await?;
        if assets["data"].as_array().is_some_and(|d| d.is_empty()) {
            seed_assets(&client, &pool_for(cfg, &psa_assets::DB)?, &customer).await?;
        }
    }

    let token = SigningKey::load_or_create(&cfg.auth.dev.key_file)?.access_token(
        &cfg.auth.dev.issuer,
        &cfg.auth.dev.audience,
        DEMO_TENANT,
        "demo-admin",
        &tenant_perms,
        12 * 3600,
    )?;
    let url = &cfg.http.public_url;
    println!("demo tenant: {DEMO_TENANT} (company ID: demo)");
    println!("demo admin sign-in: admin@demo.example / {admin_password}");
    println!(
        "platform operator sign-in: company ID operator, operator@platform.example / {operator_password}"
    );
    println!(
        "Infexio service account: client_id {} client_secret {}",
        account["client_id"].as_str().unwrap_or(""),
        account["client_secret"].as_str().unwrap_or("")
    );
    println!(
        "a token the real way: curl -s {url}/oauth/token -u '{}:{}' -d grant_type=client_credentials",
        account["client_id"].as_str().unwrap_or(""),
        account["client_secret"].as_str().unwrap_or("")
    );
    println!("token (12 h, all tenant permissions; accepted while auth.dev.enabled = true):");
    println!("{token}");
    Ok(())
}
