//! Billing's background work: the outbox relay, the projection of CRM's
//! and tickets' events, invoice runs (started by the API, carried on after
//! a restart), the files of released documents (rendered after the
//! release, finished here when the releasing process ended first) and the
//! schema's housekeeping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use futures::FutureExt;
use psa_events::outbox::Handler;
use psa_kernel::{Store, Tx};
use psa_runtime::config::EventsConfig;
use psa_runtime::{Subscription, Workers};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::invoice::{Buyer, InvoiceDocument, InvoiceType, UnitCode, default_vat};
use crate::domain::pricing::{self, Priced, Terms, Work};
use crate::error::Error;
use crate::events::{CONSUMES, CREDIT_NOTE_RELEASED, INVOICE_GENERATED, INVOICE_RELEASED};
use crate::repo::invoices::{NewDraft, NewLine};
use crate::repo::{self, charges, invoices, items, projection, runs};

/// The queue of billing's projection.
pub const PROJECTION_QUEUE: &str = "billing.projection";

/// Failed deliveries of one event before it is dead-lettered.
const PROJECTION_DELIVERY_LIMIT: u32 = 5;

/// How often runs whose worker stopped are looked for, and how long a run
/// may go without a heartbeat before another worker carries it on.
const STALLED_WATCH_EVERY: Duration = Duration::from_secs(30);
const STALLED_AFTER: chrono::Duration = chrono::Duration::seconds(120);

/// How the projection applies one event: as its publisher's type, in the
/// event's tenant.
pub fn handler() -> Handler {
    Arc::new(|event, conn| {
        async move { crate::events::project(conn, &event.event_type, &event.data).await }.boxed()
    })
}

/// The contract a piece of work is billed under: its ticket's, else the
/// customer's newest contract in force on the day of the work.
fn contract_for(
    contract: Option<Uuid>,
    date: NaiveDate,
    contracts: &[(Terms, String)],
) -> Option<&(Terms, String)> {
    if let Some(id) = contract
        && let Some(c) = contracts.iter().find(|(t, _)| t.id == id)
    {
        return Some(c);
    }
    contracts
        .iter()
        .filter(|(t, _)| t.start <= date && t.end.is_none_or(|e| e >= date))
        .max_by_key(|(t, _)| (t.start, t.id))
}

/// Bills one customer for `period`: one draft per currency with its
/// contracts' fees, blocks and time. Returns the drafts made and notes on
/// what was left out.
pub async fn bill_customer(
    tx: &mut Tx,
    run: Uuid,
    customer: Uuid,
    period: (NaiveDate, NaiveDate),
) -> Result<(i32, Vec<String>), Error> {
    let Some(buyer) = projection::buyer(tx, customer).await? else {
        return Ok((0, vec!["the customer is unknown or deleted".into()]));
    };
    let settings = repo::settings::fetch(tx, false).await?;
    let contracts = projection::contracts_in_period(tx, customer, period.0, period.1).await?;
    let mut notes = vec![];
    let mut work: BTreeMap<Uuid, Vec<Work>> = BTreeMap::new();
    for (w, contract) in items::approved_work(tx, customer, period.0, period.1).await? {
        match contract_for(contract, w.date, &contracts) {
            Some((t, _)) => work.entry(t.id).or_default().push(w),
            None => notes.push(format!(
                "time on {} ({}) is under no contract in force that day",
                w.ticket_label, w.date
            )),
        }
    }
    // Per currency: the contract and what it bills.
    let mut by_currency: BTreeMap<&str, Vec<(&Terms, pricing::Billed)>> = BTreeMap::new();
    for (terms, currency) in &contracts {
        let charged = charges::charged(tx, terms.id).await?;
        let billed = pricing::bill(
            terms,
            period,
            work.get(&terms.id).map_or(&[][..], Vec::as_slice),
            &charged,
        );
        notes.extend(billed.warnings.iter().cloned());
        by_currency
            .entry(currency)
            .or_default()
            .push((terms, billed));
    }
    let mut drafts = 0;
    for (currency, billed) in by_currency {
        if billed.iter().all(|(_, b)| b.lines.is_empty()) {
            continue;
        }
        let draft = invoices::insert_draft(
            tx,
            &NewDraft {
                invoice_type: crate::domain::invoice::InvoiceType::Invoice,
                customer_id: customer,
                currency,
                period: (Some(period.0), Some(period.1)),
                notes: None,
                buyer: &buyer,
                preceding: None,
                run_id: Some(run),
            },
        )
        .await?;
        let mut linked = vec![];
        for (terms, b) in &billed {
            let mut line_ids = vec![];
            for p in &b.lines {
                let line = write_priced(tx, draft.id, terms, p, &buyer, &settings).await?;
                if let Some(charge) = p.charge
                    && !charges::charge(tx, terms.id, charge, draft.id, line).await?
                {
                    return Err(Error::Problem(psa_http::Problem::conflict(
                        "another run billed this contract's period at the same time",
                    )));
                }
                line_ids.push(line);
            }
            linked.extend(b.items.iter().map(|(item, minutes, line)| {
                (*item, *minutes, line.map(|i| line_ids[i]), terms.id)
            }));
        }
        if !linked.is_empty() {
            let changed = items::invoice(tx, draft.id, &linked).await?;
            items::announce(tx, &changed).await?;
        }
        let draft = invoices::retotal(tx, draft.id).await?;
        let doc = invoices::document(tx, draft).await?;
        tx.emit(&INVOICE_GENERATED, doc.invoice.id, &doc).await?;
        drafts += 1;
    }
    Ok((drafts, notes))
}

/// Writes a priced line with the buyer's VAT; returns its id.
async fn write_priced(
    tx: &mut Tx,
    invoice: Uuid,
    terms: &Terms,
    p: &Priced,
    buyer: &Buyer,
    settings: &crate::domain::settings::Settings,
) -> Result<Uuid, Error> {
    let (category, rate) = default_vat(buyer.vat_treatment, settings.default_vat_rate);
    let line = invoices::insert_line(
        tx,
        invoice,
        &NewLine {
            kind: match p.kind {
                pricing::LineKind::Fee => crate::domain::invoice::LineKind::Fee,
                pricing::LineKind::Time => crate::domain::invoice::LineKind::Time,
                pricing::LineKind::Overage => crate::domain::invoice::LineKind::Overage,
                pricing::LineKind::Block => crate::domain::invoice::LineKind::Block,
            },
            description: &p.description,
            quantity: p.quantity,
            unit_code: UnitCode::parse(p.unit_code).expect("pricing uses known unit codes"),
            unit_price: p.unit_price,
            net: p.net,
            vat_category: category,
            vat_rate: rate,
            exemption_reason: category.default_exemption_reason(),
            contract_id: Some(terms.id),
            period: (Some(p.period.0), Some(p.period.1)),
            credited_line_id: None,
        },
    )
    .await?;
    Ok(line.id)
}

/// Goes through a run's customers still to bill, each in its own
/// transaction (a customer that fails is recorded, the others go on), and
/// ends the run.
pub async fn process_run(store: Store, tenant: Uuid, run: Uuid) -> anyhow::Result<()> {
    let period = {
        let mut tx = Tx::for_tenant(&store, tenant).await?;
        let r = runs::fetch(&mut tx, run).await?;
        tx.commit().await?;
        match r {
            Some(r) => (r.period.from, r.period.to),
            None => return Ok(()),
        }
    };
    loop {
        let mut tx = Tx::for_tenant(&store, tenant).await?;
        let Some(customer) = runs::next_customer(&mut tx, run).await? else {
            runs::finish(&mut tx, run).await?;
            tx.commit().await?;
            return Ok(());
        };
        sqlx::query("savepoint bill_customer")
            .execute(&mut *tx)
            .await?;
        let outcome = bill_customer(&mut tx, run, customer, period).await;
        let (failed, drafts, note) = match outcome {
            Ok((drafts, notes)) => (false, drafts, (!notes.is_empty()).then(|| notes.join("; "))),
            Err(e) => {
                sqlx::query("rollback to savepoint bill_customer")
                    .execute(&mut *tx)
                    .await?;
                tracing::warn!(%run, %customer, error = %e, "invoice run: a customer failed");
                {
                    let why = match e {
                        Error::Db(_) => "an internal error (in the server's log)".to_owned(),
                        other => other.to_string(),
                    };
                    (true, 0, Some(why))
                }
            }
        };
        runs::customer_done(&mut tx, run, customer, failed, drafts, note.as_deref()).await?;
        tx.commit().await?;
    }
}

/// How often releases whose files were not kept are looked for, and how
/// long the releasing request has to keep them itself.
const RENDER_WATCH_EVERY: Duration = Duration::from_secs(30);
const RENDER_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// The aftermath of a release: renders the document's XML and PDF from
/// the frozen data (holding no connection and no lock while it renders),
/// then, in one transaction, keeps them with their SHA-256 and records
/// `invoice.released` (or `credit_note.released`) naming them. None when
/// there was nothing to do (another transaction did it). Releases are not
/// held up by rendering: the number's lock ends with the release.
pub async fn finish_release(
    store: &Store,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<InvoiceDocument>, Error> {
    let mut tx = Tx::for_tenant(store, tenant).await?;
    let inv = invoices::fetch(&mut tx, id, false)
        .await?
        .ok_or_else(psa_http::Problem::not_found)?;
    let doc = invoices::document(&mut tx, inv).await?;
    tx.commit().await?;
    if !doc.files.is_empty() {
        return Ok(None);
    }
    let released_at = doc.invoice.released_at.unwrap_or(doc.invoice.updated_at);
    let files = tokio::task::spawn_blocking(move || {
        crate::documents::render(&doc, released_at).map(|files| (doc, files))
    })
    .await
    .map_err(|e| psa_http::Problem::internal(&e))?
    .map_err(Error::Render)?;
    let (doc, files) = files;
    let mut tx = Tx::for_tenant(store, tenant).await?;
    if !repo::documents::take_pending(&mut tx, id).await?
        || !repo::documents::of(&mut tx, id).await?.is_empty()
    {
        return Ok(None);
    }
    for file in &files {
        repo::documents::insert(&mut tx, id, file).await?;
    }
    let doc = invoices::document(&mut tx, doc.invoice).await?;
    let event = match doc.invoice.invoice_type {
        InvoiceType::Invoice => &INVOICE_RELEASED,
        InvoiceType::CreditNote => &CREDIT_NOTE_RELEASED,
    };
    tx.emit(event, id, &doc).await?;
    tx.commit().await?;
    Ok(Some(doc))
}

/// Finishes the releases whose request ended before their files were kept.
pub async fn finish_releases_once(store: &Store) -> anyhow::Result<usize> {
    let mut finished = 0;
    for (tenant, id) in repo::documents::due(&store.pool, Utc::now() - RENDER_AFTER).await? {
        match finish_release(store, tenant, id).await {
            Ok(done) => finished += usize::from(done.is_some()),
            Err(e) => {
                tracing::error!(invoice = %id, error = %e, "rendering a released document failed")
            }
        }
    }
    Ok(finished)
}

/// Carries on runs whose worker stopped (the process ended while it ran).
pub async fn resume_stalled_once(store: &Store) -> anyhow::Result<usize> {
    let older_than = Utc::now() - STALLED_AFTER;
    let mut resumed = 0;
    for (tenant, run) in runs::stalled(&store.pool, older_than).await? {
        let mut tx = Tx::for_tenant(store, tenant).await?;
        let claimed = runs::claim(&mut tx, run, older_than).await?;
        tx.commit().await?;
        if claimed {
            process_run(store.clone(), tenant, run).await?;
            resumed += 1;
        }
    }
    Ok(resumed)
}

pub fn start(pool: &PgPool, events: &EventsConfig) -> Workers {
    let mut workers = Workers::new("billing");
    workers.housekeeping(pool.clone(), "billing");
    let store = Store::new(pool.clone(), crate::DB.schema);
    workers.every("invoice-run-resume", STALLED_WATCH_EVERY, move || {
        let store = store.clone();
        async move {
            if let Err(e) = resume_stalled_once(&store).await {
                tracing::warn!(error = %e, "resuming invoice runs failed");
            }
        }
    });
    let store = Store::new(pool.clone(), crate::DB.schema);
    workers.every("release-files", RENDER_WATCH_EVERY, move || {
        let store = store.clone();
        async move {
            if let Err(e) = finish_releases_once(&store).await {
                tracing::warn!(error = %e, "finishing releases failed");
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
