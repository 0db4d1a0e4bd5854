//! RMM inventory: records upserted by (source, external id) through
//! `assets.inventory_links`, leaving the fields a person owns alone.

use std::collections::HashMap;

use psa_http::{FieldError, Problem};
use psa_kernel::Tx;
use serde_json::Value;
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use super::assets::{COLUMNS, Written, save};
use crate::domain::eol::Product;
use crate::domain::inventory::{InventoryRecord, RecordOutcome, RecordResult};
use crate::domain::{Asset, AssetInput, AssetStatus};
use crate::error::AssetsError;
use crate::events;

/// The type of a device whose record names none.
const DEFAULT_TYPE: &str = "workstation";

/// What one record did to its asset.
enum Applied {
    Created(Asset),
    Updated(Asset),
    Unchanged(Uuid),
}

/// Applies a chunk of records in `tx`, each in a savepoint of its own: a
/// bad record is reported and undone, the others stay. Events for the
/// assets created or changed go to the outbox in `tx`.
pub async fn apply_chunk(
    tx: &mut Tx,
    records: &[(usize, Value)],
    catalog: &[Product],
) -> Result<Vec<RecordResult>, AssetsError> {
    let mut customers: HashMap<(String, String), Option<Uuid>> = HashMap::new();
    let mut results = Vec::with_capacity(records.len());
    for (index, raw) in records {
        let failed = |errors: Vec<FieldError>| RecordResult {
            index: *index,
            outcome: RecordOutcome::Failed,
            asset_id: None,
            errors,
        };
        let record: InventoryRecord = match serde_json::from_value(raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                results.push(failed(vec![FieldError::new("record", e.to_string())]));
                continue;
            }
        };
        if let Err(errors) = record.validate() {
            results.push(failed(errors));
            continue;
        }
        let mut savepoint = (&mut **tx).begin().await?;
        match apply(&mut savepoint, &record, catalog, &mut customers).await {
            Ok(applied) => {
                savepoint.commit().await?;
                let (outcome, id) = match applied {
                    Applied::Created(a) => {
                        tx.emit(&events::ASSET_CREATED, a.id, &a).await?;
                        (RecordOutcome::Created, a.id)
                    }
                    Applied::Updated(a) => {
                        tx.emit(&events::ASSET_UPDATED, a.id, &a).await?;
                        (RecordOutcome::Updated, a.id)
                    }
                    Applied::Unchanged(id) => (RecordOutcome::Unchanged, id),
                };
                results.push(RecordResult {
                    index: *index,
                    outcome,
                    asset_id: Some(id),
                    errors: vec![],
                });
            }
            Err(AssetsError::Db(e)) => return Err(AssetsError::Db(e)),
            Err(e) => {
                savepoint.rollback().await?;
                let problem = Problem::from(e);
                let errors = if problem.errors.is_empty() {
                    vec![FieldError::with_code(
                        "record",
                        problem.code,
                        problem.detail.clone().unwrap_or_default(),
                    )]
                } else {
                    problem.errors.clone()
                };
                results.push(failed(errors));
            }
        }
    }
    Ok(results)
}

async fn apply(
    conn: &mut PgConnection,
    r: &InventoryRecord,
    catalog: &[Product],
    customers: &mut HashMap<(String, String), Option<Uuid>>,
) -> Result<Applied, AssetsError> {
    // One writer per device at a time, so two imports never create it twice.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("assets.inventory:{}:{}", r.source, r.external_id)
    )
    .execute(&mut *conn)
    .await?;
    let customer = match (r.customer_id, &r.customer_ref) {
        (Some(id), _) => id,
        (None, Some(reference)) => {
            let key = (r.source.clone(), reference.clone());
            let found = match customers.get(&key) {
                Some(found) => *found,
                None => {
                    let found =
                        super::projection::customer_by_ref(conn, &r.source, reference).await?;
                    customers.insert(key, found);
                    found
                }
            };
            found.ok_or(AssetsError::Unknown(
                "customer_ref",
                "customer with this id in the source",
            ))?
        }
        (None, None) => return Err(AssetsError::Unknown("customer_id", "customer")),
    };
    let fingerprint = r.fingerprint();
    let link = sqlx::query!(
        "select asset_id, fingerprint from assets.inventory_links where source = $1 and external_id = $2",
        r.source,
        r.external_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(link) = &link
        && link.fingerprint == fingerprint
    {
        heartbeat(conn, r, link.asset_id).await?;
        return Ok(Applied::Unchanged(link.asset_id));
    }
    let existing = match &link {
        Some(link) => fetch_locked(conn, link.asset_id).await?,
        None => by_serial(conn, r).await?,
    };
    let contact = match &r.assigned_user_email {
        Some(email) => super::projection::contact_by_email(conn, customer, email).await?,
        None => None,
    };
    let input = merged(existing.as_ref(), r, customer, contact);
    let applied = match &existing {
        Some(before) if AssetInput::from(before) == input => Applied::Unchanged(before.id),
        _ => {
            let how = Written {
                manual_fields: existing
                    .as_ref()
                    .map(|a| a.manual_fields.clone())
                    .unwrap_or_default(),
                last_seen_at: r
                    .last_seen_at
                    .or(existing.as_ref().and_then(|a| a.last_seen_at)),
            };
            let id = existing.as_ref().map_or_else(Uuid::now_v7, |a| a.id);
            let asset = save(conn, id, input, existing.as_ref(), &how, catalog).await?;
            if existing.is_some() {
                Applied::Updated(asset)
            } else {
                Applied::Created(asset)
            }
        }
    };
    let asset_id = match &applied {
        Applied::Created(a) | Applied::Updated(a) => a.id,
        Applied::Unchanged(id) => *id,
    };
    if matches!(applied, Applied::Unchanged(_)) {
        heartbeat(conn, r, asset_id).await?;
    }
    sqlx::query!(
        "insert into assets.inventory_links (source, external_id, asset_id, fingerprint, last_seen_at)
         values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, source, external_id) do update set asset_id = excluded.asset_id,
           fingerprint = excluded.fingerprint,
           last_seen_at = coalesce(excluded.last_seen_at, assets.inventory_links.last_seen_at)",
        r.source,
        r.external_id,
        asset_id,
        fingerprint,
        r.last_seen_at,
    )
    .execute(conn)
    .await?;
    Ok(applied)
}

/// The asset as the record says it is, over what is known of it: fields a
/// person owns keep their value; a date of end of life that came from the
/// snapshot is looked up again.
fn merged(
    existing: Option<&Asset>,
    r: &InventoryRecord,
    customer: Uuid,
    contact: Option<Uuid>,
) -> AssetInput {
    let mut i = match existing {
        Some(a) => AssetInput::from(a),
        None => AssetInput {
            customer_id: customer,
            site_id: None,
            contact_id: None,
            parent_id: None,
            name: r.hostname.trim().to_owned(),
            asset_type: DEFAULT_TYPE.to_owned(),
            manufacturer: None,
            model: None,
            serial_number: None,
            asset_tag: None,
            status: AssetStatus::Deployed,
            purchase_date: None,
            purchase_price: None,
            currency: None,
            warranty_end: None,
            eol_date: None,
            hostname: None,
            os_name: None,
            os_version: None,
            notes: None,
            custom_fields: Default::default(),
            external_ids: Default::default(),
        },
    };
    let owned = |f: &str| existing.is_some_and(|a| a.manual_fields.iter().any(|m| m == f));
    let (os_before, version_before) = (i.os_name.clone(), i.os_version.clone());
    macro_rules! take {
        ($field:ident, $name:literal, $value:expr) => {
            if !owned($name) {
                i.$field = $value;
            }
        };
    }
    take!(customer_id, "customer_id", customer);
    take!(name, "name", r.hostname.trim().to_owned());
    take!(hostname, "hostname", Some(r.hostname.trim().to_owned()));
    if let Some(t) = &r.device_type {
        take!(asset_type, "type", t.clone());
    }
    take!(serial_number, "serial_number", r.serial_number.clone());
    take!(manufacturer, "manufacturer", r.manufacturer.clone());
    take!(model, "model", r.model.clone());
    take!(os_name, "os_name", r.os_name.clone());
    take!(os_version, "os_version", r.os_version.clone());
    if contact.is_some() {
        take!(contact_id, "contact_id", contact);
    }
    let from_snapshot = existing
        .and_then(|a| a.eol_source.as_deref())
        .is_some_and(|s| s.starts_with("endoflife.date:"));
    if from_snapshot
        && !owned("eol_date")
        && (i.os_name != os_before || i.os_version != version_before)
    {
        i.eol_date = None;
    }
    i.external_ids
        .insert(format!("rmm:{}", r.source), r.external_id.clone());
    i
}

/// Moves `last_seen_at` only: no new version, no event.
async fn heartbeat(
    conn: &mut PgConnection,
    r: &InventoryRecord,
    asset: Uuid,
) -> Result<(), sqlx::Error> {
    if let Some(seen) = r.last_seen_at {
        sqlx::query!(
            "update assets.assets set last_seen_at = $2
             where id = $1 and (last_seen_at is null or last_seen_at < $2)",
            asset,
            seen
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "update assets.inventory_links set last_seen_at = $3
             where source = $1 and external_id = $2",
            r.source,
            r.external_id,
            seen
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn fetch_locked(conn: &mut PgConnection, id: Uuid) -> Result<Option<Asset>, sqlx::Error> {
    psa_kernel::resource::fetch::<Asset>(conn, id, true).await
}

/// An asset recorded by hand (or by another source) with the record's
/// manufacturer and serial number, adopted on first contact.
async fn by_serial(
    conn: &mut PgConnection,
    r: &InventoryRecord,
) -> Result<Option<Asset>, sqlx::Error> {
    let Some(serial) = &r.serial_number else {
        return Ok(None);
    };
    let sql = format!(
        "select {COLUMNS} from assets.assets
         where lower(coalesce(manufacturer, '')) = lower(coalesce($1, '')) and serial_number = $2
         for update"
    );
    sqlx::query_as::<_, Asset>(sqlx::AssertSqlSafe(sql))
        .bind(&r.manufacturer)
        .bind(serial)
        .fetch_optional(conn)
        .await
}
