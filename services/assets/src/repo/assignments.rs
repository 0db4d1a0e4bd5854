//! `assets.license_assignments`: seats given to assets or contacts. The
//! license row is locked while a seat is counted and taken, so concurrent
//! assignments never exceed the seats.

use psa_kernel::{Keyset, Page, SortField, SortValue};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::violates;
use crate::domain::{Assignment, AssignmentInput};
use crate::error::AssetsError;

pub const SORTS: &[SortField] = &[SortField::CREATED_AT];

/// Takes a seat of `license` (locked by the caller) for the asset or
/// contact: 409 when every seat is taken or it holds one already.
pub async fn assign(
    conn: &mut PgConnection,
    license: Uuid,
    seats: i32,
    input: &AssignmentInput,
) -> Result<Assignment, AssetsError> {
    if let Some(asset) = input.asset_id
        && !super::assets::exists(conn, asset).await?
    {
        return Err(AssetsError::Unknown("asset_id", "asset"));
    }
    if let Some(contact) = input.contact_id
        && !super::projection::contact_known(conn, contact).await?
    {
        return Err(AssetsError::Unknown("contact_id", "contact"));
    }
    let used = sqlx::query_scalar!(
        r#"select count(*) as "n!" from assets.license_assignments where license_id = $1"#,
        license
    )
    .fetch_one(&mut *conn)
    .await?;
    if used >= i64::from(seats) {
        return Err(AssetsError::SeatsExhausted(seats));
    }
    sqlx::query_as!(
        Assignment,
        "insert into assets.license_assignments (id, license_id, asset_id, contact_id, note)
         values ($1, $2, $3, $4, $5)
         returning id, license_id, asset_id, contact_id, note, created_at",
        Uuid::now_v7(),
        license,
        input.asset_id,
        input.contact_id,
        input.note,
    )
    .fetch_one(conn)
    .await
    .map_err(|e| {
        if violates(&e, "license_assignments_tenant_id_license_id_asset_id_key")
            || violates(
                &e,
                "license_assignments_tenant_id_license_id_contact_id_key",
            )
        {
            AssetsError::AlreadyAssigned
        } else {
            e.into()
        }
    })
}

/// Frees a seat: the assignment as it was; None when the license has no
/// such assignment.
pub async fn remove(
    conn: &mut PgConnection,
    license: Uuid,
    id: Uuid,
) -> Result<Option<Assignment>, sqlx::Error> {
    sqlx::query_as!(
        Assignment,
        "delete from assets.license_assignments where license_id = $1 and id = $2
         returning id, license_id, asset_id, contact_id, note, created_at",
        license,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The select of a license's assignments (`updated_since` reads as
/// "assigned since": assignments never change).
pub fn list_query(license: Uuid) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "select id, license_id, asset_id, contact_id, note, created_at
         from (select id, license_id, asset_id, contact_id, note, created_at,
                 created_at as updated_at from assets.license_assignments) as assignments
         where license_id = ",
    );
    qb.push_bind(license);
    qb
}

pub async fn list(
    conn: &mut PgConnection,
    license: Uuid,
    keyset: &Keyset,
) -> Result<Page<Assignment>, sqlx::Error> {
    keyset
        .fetch(conn, list_query(license), |a: &Assignment, _| {
            (SortValue::Time(a.created_at), a.id)
        })
        .await
}
