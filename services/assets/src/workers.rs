//! The assets module's background work: the outbox relay and the consumer
//! of CRM's customers, contacts and sites (when events are on), the daily
//! watch, loading the shipped end-of-life snapshot, and housekeeping.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use futures::FutureExt;
use psa_events::outbox::Handler;
use psa_kernel::{Store, Tx};
use psa_runtime::config::EventsConfig;
use psa_runtime::{Subscription, Workers};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::watch::{AssetEol, EolKind, LicenseExpiring, crossed};
use crate::events::{ASSET_EOL, CONSUMES, LICENSE_EXPIRING};
use crate::repo;

/// The queue of the CRM projection.
pub const PROJECTION_QUEUE: &str = "assets.crm-projection";

/// How often the watch looks whether a tenant's day has come: its run is
/// daily, at the tenant's hour in the tenant's time zone.
const WATCH_EVERY: Duration = Duration::from_secs(300);

/// Failed deliveries of one consumed event before it is dead-lettered.
const PROJECTION_DELIVERY_LIMIT: u32 = 5;

pub fn handler() -> Handler {
    Arc::new(|event, conn| {
        async move { crate::events::project(conn, &event.event_type, &event.data).await }.boxed()
    })
}

/// One round of the watch at `now`: every tenant whose local day has come
/// (at or after its hour) and has not been watched yet is watched. Returns
/// the number of events published.
pub async fn watch_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let store = Store::new(pool.clone(), crate::DB.schema);
    let mut reported = 0;
    for tenant in repo::watch::tenants(pool).await? {
        match watch_tenant(&store, tenant, now).await {
            Ok(n) => reported += n,
            Err(e) => tracing::warn!(%tenant, error = %e, "the watch failed for a tenant"),
        }
    }
    Ok(reported)
}

/// Watches one tenant's day if it has come and was not watched yet.
async fn watch_tenant(store: &Store, tenant: Uuid, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut tx = Tx::for_tenant(store, tenant).await?;
    let settings = repo::settings::lock(&mut tx).await?;
    let tz: chrono_tz::Tz = settings.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    if local.hour() < u32::try_from(settings.watch_hour).unwrap_or(0)
        || !repo::settings::claim_watch_day(&mut tx, today).await?
    {
        return Ok(0);
    }
    let n = report(&mut tx, today, &settings.thresholds).await?;
    tx.commit().await?;
    Ok(n)
}

/// Reports every item of the transaction's tenant that crossed a threshold
/// as seen on `today`, once per (item, kind, threshold, date).
pub async fn report(tx: &mut Tx, today: NaiveDate, thresholds: &[i32]) -> anyhow::Result<usize> {
    let horizon = thresholds.iter().copied().max().unwrap_or(0);
    let mut reported = 0;
    for asset in repo::watch::assets_due(tx, today, horizon).await? {
        for (kind, due) in [
            (EolKind::Warranty, asset.warranty_end),
            (EolKind::Eol, asset.eol_date),
        ] {
            let Some(due) = due else { continue };
            let Some(threshold) = crossed(thresholds, due, today) else {
                continue;
            };
            if repo::watch::note(tx, asset.id, kind.as_str(), threshold, due).await? {
                let notice = AssetEol {
                    kind,
                    threshold_days: threshold,
                    due_date: due,
                    days_left: (due - today).num_days(),
                    asset: asset.clone(),
                };
                tx.emit(&ASSET_EOL, asset.id, &notice).await?;
                reported += 1;
            }
        }
    }
    for license in repo::watch::licenses_due(tx, today, horizon).await? {
        let Some(due) = license.expiry_date else {
            continue;
        };
        let Some(threshold) = crossed(thresholds, due, today) else {
            continue;
        };
        if repo::watch::note(tx, license.id, "license", threshold, due).await? {
            let notice = LicenseExpiring {
                threshold_days: threshold,
                due_date: due,
                days_left: (due - today).num_days(),
                license: license.clone(),
            };
            tx.emit(&LICENSE_EXPIRING, license.id, &notice).await?;
            reported += 1;
        }
    }
    Ok(reported)
}

pub fn start(pool: &PgPool, events: &EventsConfig) -> Workers {
    let mut workers = Workers::new("assets");
    workers.housekeeping(pool.clone(), "assets");
    let snapshot_pool = pool.clone();
    workers.spawn("eol-snapshot", async move {
        if let Err(e) = repo::eol::ensure_shipped(&snapshot_pool).await {
            tracing::warn!(error = %e, "loading the shipped end-of-life snapshot failed");
        }
    });
    let watch_pool = pool.clone();
    workers.every("watch", WATCH_EVERY, move || {
        let pool = watch_pool.clone();
        async move {
            if let Err(e) = watch_once(&pool, Utc::now()).await {
                tracing::warn!(error = %e, "the watch failed");
            }
        }
    });
    workers.events(
        events,
        pool,
        crate::DB.schema,
        Some(Subscription {
            queue: PROJECTION_QUEUE,
            patterns: CONSUMES,
            delivery_limit: PROJECTION_DELIVERY_LIMIT,
            handler: handler(),
        }),
    );
    workers
}
