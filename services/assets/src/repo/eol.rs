//! End-of-life reference data (`assets.eol_products`, `eol_cycles`, the
//! same for every tenant) and the tenant's model mappings.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};

use crate::domain::AssetInput;
use crate::domain::eol::{self, Cycle, EolMapping, EolMappingInput, Product, Snapshot};

/// The products and cycles as the database holds them.
pub async fn catalog(conn: &mut PgConnection) -> Result<Vec<Product>, sqlx::Error> {
    let products =
        sqlx::query!("select product, label, match from assets.eol_products order by product")
            .fetch_all(&mut *conn)
            .await?;
    let cycles = sqlx::query!(
        "select product, cycle, release_date, support, eol from assets.eol_cycles order by product, cycle"
    )
    .fetch_all(conn)
    .await?;
    Ok(products
        .into_iter()
        .map(|p| Product {
            cycles: cycles
                .iter()
                .filter(|c| c.product == p.product)
                .map(|c| Cycle {
                    cycle: c.cycle.clone(),
                    release_date: c.release_date,
                    eol: c.eol,
                    support: c.support,
                })
                .collect(),
            product: p.product,
            label: p.label,
            r#match: p.r#match,
        })
        .collect())
}

/// The end of life of what `input` describes, and where it came from: the
/// tenant's mapping of its manufacturer and model, else its operating
/// system found in the snapshot.
pub async fn lookup(
    conn: &mut PgConnection,
    catalog: &[Product],
    input: &AssetInput,
) -> Result<Option<(NaiveDate, String)>, sqlx::Error> {
    if let (Some(manufacturer), Some(model)) = (&input.manufacturer, &input.model) {
        let mapped = sqlx::query!(
            "select c.product, c.cycle, c.eol from assets.eol_mappings m
             join assets.eol_cycles c on c.product = m.product and c.cycle = m.cycle
             where lower(m.manufacturer) = lower($1) and lower(m.model) = lower($2)",
            manufacturer,
            model
        )
        .fetch_optional(conn)
        .await?;
        if let Some(m) = mapped {
            return Ok(Some((m.eol, eol::source_of(&m.product, &m.cycle))));
        }
    }
    Ok(input
        .os_name
        .as_deref()
        .and_then(|os| eol::find(catalog, os, input.os_version.as_deref()))
        .map(|(p, c)| (c.eol, eol::source_of(&p.product, &c.cycle))))
}

/// The snapshot's date in the database, if one was loaded.
pub async fn loaded_as_of(pool: &PgPool) -> Result<Option<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar!("select as_of from assets.eol_snapshot")
        .fetch_optional(pool)
        .await
}

/// Replaces the reference data with `snapshot`, in one transaction.
pub async fn load(pool: &PgPool, snapshot: &Snapshot) -> Result<(usize, usize), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Two instances starting at once load one after the other.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('assets.eol_snapshot'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("delete from assets.eol_products")
        .execute(&mut *tx)
        .await?;
    let mut cycles = 0;
    for p in &snapshot.products {
        sqlx::query!(
            "insert into assets.eol_products (product, label, match) values ($1, $2, $3)
             on conflict (product) do update set label = excluded.label, match = excluded.match",
            p.product,
            p.label,
            &p.r#match
                .iter()
                .map(|m| m.to_lowercase())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
        for c in &p.cycles {
            sqlx::query!(
                "insert into assets.eol_cycles (product, cycle, release_date, support, eol)
                 values ($1, $2, $3, $4, $5)
                 on conflict (product, cycle) do update set release_date = excluded.release_date,
                   support = excluded.support, eol = excluded.eol",
                p.product,
                c.cycle,
                c.release_date,
                c.support,
                c.eol,
            )
            .execute(&mut *tx)
            .await?;
            cycles += 1;
        }
    }
    sqlx::query!(
        "insert into assets.eol_snapshot (source, as_of) values ($1, $2)
         on conflict (id) do update set source = excluded.source, as_of = excluded.as_of,
           imported_at = now()",
        snapshot.source,
        snapshot.as_of,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((snapshot.products.len(), cycles))
}

/// Loads the shipped snapshot unless the database holds one as new or newer.
pub async fn ensure_shipped(pool: &PgPool) -> Result<(), sqlx::Error> {
    let shipped = Snapshot::shipped();
    if loaded_as_of(pool)
        .await?
        .is_some_and(|d| d >= shipped.as_of)
    {
        return Ok(());
    }
    load(pool, &shipped).await.map(|_| ())
}

/// Fills the end of life of the tenant's assets of `manufacturer` and
/// `model` that have none, from a new mapping; returns their ids.
pub async fn apply_mapping(
    conn: &mut PgConnection,
    manufacturer: &str,
    model: &str,
    eol: NaiveDate,
    source: &str,
) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "update assets.assets set eol_date = $3, eol_source = $4, version = version + 1,
           updated_at = now()
         where eol_date is null and lower(manufacturer) = lower($1) and lower(model) = lower($2)
         returning id",
        manufacturer,
        model,
        eol,
        source
    )
    .fetch_all(conn)
    .await
}

/// Records a mapping; None when the snapshot has no such product cycle.
pub async fn insert_mapping(
    conn: &mut PgConnection,
    i: &EolMappingInput,
) -> Result<Option<EolMapping>, sqlx::Error> {
    sqlx::query_as!(
        EolMapping,
        r#"with cycle as (select product, cycle, eol from assets.eol_cycles
                          where product = $4 and cycle = $5),
                m as (insert into assets.eol_mappings (id, manufacturer, model, product, cycle)
                      select $1, $2, $3, product, cycle from cycle
                      returning id, manufacturer, model, product, cycle, created_at)
           select m.id, m.manufacturer, m.model, m.product, m.cycle, cycle.eol as "eol!",
                  m.created_at
           from m join cycle using (product, cycle)"#,
        uuid::Uuid::now_v7(),
        i.manufacturer.trim(),
        i.model.trim(),
        i.product,
        i.cycle,
    )
    .fetch_optional(conn)
    .await
}

pub const MAPPING_SORTS: &[psa_kernel::SortField] = &[psa_kernel::SortField::CREATED_AT];

/// One page of the tenant's mappings (`updated_since` reads as "made
/// since": a mapping never changes).
pub async fn mappings(
    conn: &mut PgConnection,
    keyset: &psa_kernel::Keyset,
) -> Result<psa_kernel::Page<EolMapping>, sqlx::Error> {
    let qb = sqlx::QueryBuilder::new(
        "select id, manufacturer, model, product, cycle, eol, created_at
         from (select m.id, m.manufacturer, m.model, m.product, m.cycle, c.eol, m.created_at,
                 m.created_at as updated_at
               from assets.eol_mappings m
               join assets.eol_cycles c on c.product = m.product and c.cycle = m.cycle) as mappings
         where true",
    );
    keyset
        .fetch(conn, qb, |m: &EolMapping, _| {
            (psa_kernel::SortValue::Time(m.created_at), m.id)
        })
        .await
}

pub async fn delete_mapping(conn: &mut PgConnection, id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query!("delete from assets.eol_mappings where id = $1", id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// The snapshot's source and date, if one is loaded.
pub async fn snapshot_info(
    conn: &mut PgConnection,
) -> Result<Option<(String, NaiveDate)>, sqlx::Error> {
    Ok(
        sqlx::query!("select source, as_of from assets.eol_snapshot")
            .fetch_optional(conn)
            .await?
            .map(|r| (r.source, r.as_of)),
    )
}
