//! `auth.tenants`: platform level, no tenant of its own (a tenant is its
//! own row), so readable from any tenant transaction and from the pool.

use psa_kernel::{Keyset, Page, SortField, SortValue, SqlType};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{Fetched, Listed};
use crate::domain::tenant::{NewTenant, Tenant, TenantInfo, TenantSettings, TenantStatus};

fn sort_value(t: &Tenant, field: &str) -> SortValue {
    match field {
        "slug" => SortValue::Text(t.slug.clone()),
        _ => super::by_name(field, t.id, &t.name, t.created_at, t.updated_at),
    }
}

/// The tenant's standing; None when there is no such tenant.
pub async fn info<'e>(
    db: impl PgExecutor<'e>,
    id: Uuid,
) -> Result<Option<TenantInfo>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select status as "status: TenantStatus", is_platform, mfa_required
           from auth.tenants where id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| TenantInfo {
        active: r.status == TenantStatus::Active,
        is_platform: r.is_platform,
        mfa_required: r.mfa_required,
    }))
}

impl Listed for Tenant {
    const SORTS: &'static [SortField] = &[
        SortField::CREATED_AT,
        SortField::UPDATED_AT,
        SortField::ID,
        SortField::unique("slug", SqlType::Text),
        SortField::new("name", SqlType::Text),
    ];

    fn list_query() -> QueryBuilder<Postgres> {
        QueryBuilder::new(
            "select id, slug, name, status, is_platform, mfa_required, version, created_at, \
             updated_at from auth.tenants where true",
        )
    }

    async fn page(conn: &mut PgConnection, keyset: &Keyset) -> Result<Page<Self>, sqlx::Error> {
        keyset
            .fetch(conn, Self::list_query(), |t: &Tenant, f| {
                (sort_value(t, f), t.id)
            })
            .await
    }
}

impl Fetched for Tenant {
    fn version(&self) -> i64 {
        self.version
    }

    async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Self>, sqlx::Error> {
        sqlx::query_as!(
            Tenant,
            r#"select id, slug, name, status as "status: TenantStatus", is_platform,
                   mfa_required, version, created_at, updated_at
               from auth.tenants where id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// Like [`Fetched::get`], locking the row until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        r#"select id, slug, name, status as "status: TenantStatus", is_platform, mfa_required,
               version, created_at, updated_at
           from auth.tenants where id = $1 for update"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    tenant: &NewTenant,
) -> Result<Tenant, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        r#"insert into auth.tenants (id, slug, name, status, mfa_required)
           values ($1, $2, $3, 'active', $4)
           returning id, slug, name, status as "status: TenantStatus", is_platform,
               mfa_required, version, created_at, updated_at"#,
        id,
        tenant.slug,
        tenant.name,
        tenant.mfa_required,
    )
    .fetch_one(conn)
    .await
}

/// Sets the status; a new version only when it changes. None when there is no such tenant.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: TenantStatus,
) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        r#"update auth.tenants set status = $2, version = version + (status <> $2)::int,
               updated_at = case when status <> $2 then now() else updated_at end
           where id = $1
           returning id, slug, name, status as "status: TenantStatus", is_platform,
               mfa_required, version, created_at, updated_at"#,
        id,
        status as _,
    )
    .fetch_optional(conn)
    .await
}

pub async fn update_settings(
    conn: &mut PgConnection,
    id: Uuid,
    settings: &TenantSettings,
) -> Result<Tenant, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        r#"update auth.tenants set name = $2, mfa_required = $3,
               version = version + 1, updated_at = now()
           where id = $1
           returning id, slug, name, status as "status: TenantStatus", is_platform,
               mfa_required, version, created_at, updated_at"#,
        id,
        settings.name,
        settings.mfa_required,
    )
    .fetch_one(conn)
    .await
}

/// The id of the active tenant with this company ID.
pub async fn active_by_slug<'e>(
    db: impl PgExecutor<'e>,
    slug: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from auth.tenants where slug = $1 and status = 'active'",
        slug
    )
    .fetch_optional(db)
    .await
}

/// Creates the platform operator's tenant unless a tenant with `slug`
/// exists; (its id, whether it is the platform tenant).
pub async fn ensure_platform(
    conn: &mut PgConnection,
    slug: &str,
    name: &str,
) -> Result<(Uuid, bool), sqlx::Error> {
    sqlx::query!(
        "insert into auth.tenants (id, slug, name, status, is_platform)
         values ($1, $2, $3, 'active', true) on conflict (slug) do nothing",
        Uuid::now_v7(),
        slug,
        name
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        "select id, is_platform from auth.tenants where slug = $1",
        slug
    )
    .fetch_one(conn)
    .await?;
    Ok((row.id, row.is_platform))
}
