//! Many rows at once, for the plan test and the list benchmark: each
//! function fills one module's tables for one tenant with `insert … select
//! … generate_series`, as the superuser (so behind row-level security, with
//! `tenant_id` written out). The values are spread as a tenant's would be
//! (most tickets closed, a few hundred per customer, ids in creation order),
//! and scale with the row count, so a large and a small tenant differ in
//! size only. Run `analyze` after.

use std::future::Future;

use sqlx::PgPool;
use uuid::Uuid;

/// Runs `load` with the secondary indexes of `tables` (schema-qualified;
/// those indexes that back no constraint) dropped, and builds them again
/// after from their own definitions: a sort per index rather than an
/// insert per row and index, several times faster for many rows.
pub async fn without_indexes(
    admin: &PgPool,
    tables: &[&str],
    load: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index i \
         where i.indrelid = any($1::text[]::regclass[]) \
           and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)",
    )
    .bind(tables)
    .fetch_all(admin)
    .await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop index {name}")))
            .execute(admin)
            .await?;
    }
    load.await?;
    for (_, definition) in indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(definition))
            .execute(admin)
            .await?;
    }
    Ok(())
}

/// A UUID v7 (creation-ordered, as the application makes them) of the
/// timestamp expression `at`.
fn uuid7(at: &str) -> String {
    format!(
        "(lpad(to_hex((extract(epoch from {at}) * 1000)::bigint), 12, '0') || '7' \
         || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid"
    )
}

/// The id of the tenant's `k`-th customer, the same in CRM and in tickets.
fn customer_id(k: &str) -> String {
    format!("md5($1::text || ':customer:' || ({k}))::uuid")
}

/// Runs `sql` with the tenant as `$1` and a row count as `$2`.
async fn run(admin: &PgPool, sql: String, tenant: Uuid, n: i64) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .bind(n)
        .execute(admin)
        .await?;
    Ok(())
}

/// Runs `sql` with the tenant as `$1`.
async fn run_for(admin: &PgPool, sql: String, tenant: Uuid) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .execute(admin)
        .await?;
    Ok(())
}

/// The tenant's row (auth's tenants, which other modules' rows need not
/// reference but auth's do).
pub async fn tenant(admin: &PgPool, tenant: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "insert into auth.tenants (id, slug, name, status) \
         values ($1, 'bulk-' || replace($1::text, '-', ''), 'Bulk ' || $1::text, 'active')",
    )
    .bind(tenant)
    .execute(admin)
    .await?;
    Ok(())
}

/// `n` more tenants (the platform's tenant list).
pub async fn tenants(admin: &PgPool, n: i64) -> anyhow::Result<()> {
    let id = uuid7("t");
    let sql = format!(
        "insert into auth.tenants (id, slug, name, status, created_at, updated_at) \
         select {id}, 'many-' || i || '-' || substr(md5(random()::text), 1, 8), 'Tenant ' || i, \
                'active', t, t \
         from (select i, now() - ($1 - i) * interval '1 hour' as t \
               from generate_series(1, $1) i) g"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(n)
        .execute(admin)
        .await?;
    Ok(())
}

/// `n` tickets over three years, a few hundred per customer (of
/// `n / 500` customers), 90 % closed, half in a queue, two thirds
/// assigned (to 50 users); and the tenant's ticket counter after them.
pub async fn tickets(admin: &PgPool, tenant: Uuid, n: i64) -> anyhow::Result<()> {
    let id = uuid7("t");
    let customer = customer_id("i % greatest($2 / 500, 1)");
    let sql = format!(
        "insert into tickets.tickets (tenant_id, id, number, title, type, priority, status, queue, \
             assignee_id, customer_id, created_at, updated_at) \
         select $1, {id}, 'T-' || lpad(i::text, greatest(6, length(i::text)), '0'), 'Ticket ' || i, \
             (array['incident', 'service_request', 'problem', 'change'])[1 + i % 4], \
             (array['low', 'medium', 'high', 'critical'])[1 + (i / 7) % 4], \
             case when r < 0.90 then 'closed' when r < 0.93 then 'resolved' when r < 0.95 then 'new' \
                  when r < 0.97 then 'open' when r < 0.99 then 'in_progress' else 'waiting' end, \
             case when i % 2 = 0 then null else 'queue-' || (i % 5) end, \
             case when i % 3 = 0 then null else 'user-' || (i % 50) end, \
             {customer}, t, least(now(), t + random() * interval '30 days') \
         from (select i, random() as r, now() - ($2 - i) * (interval '3 years' / $2) as t \
               from generate_series(1, $2) i) g"
    );
    run(admin, sql, tenant, n).await?;
    sqlx::query(
        "insert into tickets.number_sequences (tenant_id, name, last_value) values ($1, 'ticket', $2) \
         on conflict (tenant_id, name) do update set last_value = excluded.last_value",
    )
    .bind(tenant)
    .bind(n)
    .execute(admin)
    .await?;
    Ok(())
}

/// `per_ticket` comments and as many time entries on each of the tenant's
/// `tickets` newest tickets.
pub async fn ticket_work(
    admin: &PgPool,
    tenant: Uuid,
    tickets: i64,
    per_ticket: i32,
) -> anyhow::Result<()> {
    let id = uuid7("at");
    let newest = "select id, created_at from tickets.tickets where tenant_id = $1 \
                  order by created_at desc limit $2";
    let comments = format!(
        "insert into tickets.comments (tenant_id, id, ticket_id, author, visibility, body, created_at) \
         select $1, {id}, t.id, 'user-' || k % 50, 'internal', 'Comment ' || k, at \
         from ({newest}) t, generate_series(1, $3) k, \
              lateral (select t.created_at + k * interval '1 minute' as at) a"
    );
    let entries = format!(
        "insert into tickets.time_entries (tenant_id, id, ticket_id, user_id, started_at, minutes, \
             billable, created_at, updated_at) \
         select $1, {id}, t.id, 'user-' || k % 50, at, 15 + k % 60, k % 4 <> 0, at, at \
         from ({newest}) t, generate_series(1, $3) k, \
              lateral (select t.created_at + k * interval '1 minute' as at) a"
    );
    for sql in [comments, entries] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(tickets)
            .bind(per_ticket)
            .execute(admin)
            .await?;
    }
    Ok(())
}

/// `n` customers (90 % active, each with an Infexio id), three contacts,
/// a site and a contract each.
pub async fn crm(admin: &PgPool, tenant: Uuid, n: i64) -> anyhow::Result<()> {
    let customer = customer_id("i");
    let id = uuid7("t");
    let customers = format!(
        "insert into crm.customers (tenant_id, id, customer_number, name, status, email, \
             external_ids, created_at, updated_at) \
         select $1, {customer}, 'C-' || lpad(i::text, greatest(6, length(i::text)), '0'), \
             (array['Contoso', 'Fabrikam', 'Northwind', 'Tailspin', 'Adatum', 'Litware'])[1 + (random() * 5)::int] \
                 || ' ' || i || (array[' GmbH', ' AG', ' Ltd', ' Inc'])[1 + (random() * 3)::int], \
             case when random() < 0.1 then 'inactive' else 'active' end, 'office' || i || '@example.com', \
             jsonb_build_object('infexio', i::text), t, t + (i % 97) * interval '1 day' \
         from (select i, now() - ($2 - i) * (interval '3 years' / $2) as t \
               from generate_series(1, $2) i) g"
    );
    let contacts = format!(
        "insert into crm.contacts (tenant_id, id, customer_id, name, email, is_primary, \
             created_at, updated_at) \
         select $1, {id}, c.id, \
             (array['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret'])[1 + (random() * 5)::int] || ' ' \
                 || (array['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton'])[1 + (random() * 5)::int], \
             'c' || j || '.' || c.customer_number || '@example.com', j = 1, t, t \
         from crm.customers c, generate_series(1, 3) j, \
              lateral (select c.created_at + j * interval '1 hour' as t) a \
         where c.tenant_id = $1"
    );
    let sites = format!(
        "insert into crm.sites (tenant_id, id, customer_id, name, created_at, updated_at) \
         select $1, {id}, c.id, \
             (array['HQ', 'Branch', 'Warehouse', 'Lab'])[1 + (random() * 3)::int] || ' ' || c.customer_number, t, t \
         from crm.customers c, lateral (select c.created_at + interval '2 hours' as t) a \
         where c.tenant_id = $1"
    );
    let contracts = format!(
        "insert into crm.contracts (tenant_id, id, customer_id, name, type, status, start_date, \
             currency, created_at, updated_at) \
         select $1, {id}, c.id, \
             (array['Managed', 'Backup', 'Security', 'Cloud', 'Hours'])[1 + (random() * 4)::int] || ' ' || c.customer_number, \
             (array['managed_services', 'time_and_materials', 'block_hours', 'project'])[1 + (random() * 3)::int], \
             (array['draft', 'active', 'active', 'suspended', 'ended'])[1 + (random() * 4)::int], \
             (t - interval '30 days')::date, 'EUR', t, t \
         from crm.customers c, lateral (select c.created_at + interval '3 hours' as t) a \
         where c.tenant_id = $1"
    );
    run(admin, customers, tenant, n).await?;
    for sql in [contacts, sites, contracts] {
        run_for(admin, sql, tenant).await?;
    }
    Ok(())
}

/// `n` users, service accounts, API keys and roles (a tenant's own), and
/// `10 * n` audit events.
pub async fn auth(admin: &PgPool, tenant: Uuid, n: i64) -> anyhow::Result<()> {
    let id = uuid7("t");
    let spread = "from (select i, now() - ($2 - i) * (interval '3 years' / $2) as t \
                  from generate_series(1, $2) i) g";
    let users = format!(
        "insert into auth.users (tenant_id, id, email, name, status, created_at, updated_at) \
         select $1, {id}, 'user' || i || '@example.com', 'User ' || i, \
             case when i % 20 = 0 then 'suspended' else 'active' end, t, t {spread}"
    );
    let accounts = format!(
        "insert into auth.service_accounts (tenant_id, id, name, client_id, permissions, status, \
             created_at, updated_at) \
         select $1, {id}, 'Sync ' || i, 'sa-' || replace($1::text, '-', '') || '-' || i, '{{}}', \
             'active', t, t {spread}"
    );
    let keys = format!(
        "insert into auth.api_keys (tenant_id, id, name, key_hash, permissions, created_by, \
             created_at, updated_at) \
         select $1, {id}, 'Key ' || i, md5(random()::text), '{{}}', 'bulk', t, t {spread}"
    );
    let roles = format!(
        "insert into auth.roles (tenant_id, id, name, permissions, created_at, updated_at) \
         select $1, {id}, 'role-' || i, '{{}}', t, t {spread}"
    );
    let events = format!(
        "insert into auth.audit_events (tenant_id, id, action, actor, outcome, created_at) \
         select $1, {id}, 'user.sign_in', 'user-' || i % 50, 'success', t \
         from (select i, now() - ($2 * 10 - i) * (interval '3 years' / ($2 * 10)) as t \
               from generate_series(1, $2 * 10) i) g"
    );
    for sql in [users, accounts, keys, roles, events] {
        run(admin, sql, tenant, n).await?;
    }
    Ok(())
}

/// `n` entries of the gateway's audit log.
pub async fn audit_log(admin: &PgPool, tenant: Uuid, n: i64) -> anyhow::Result<()> {
    let id = uuid7("t");
    let sql = format!(
        "insert into gateway.audit_log (tenant_id, id, request_id, subject, method, path, status, \
             created_at) \
         select $1, {id}, md5(random()::text), 'user-' || i % 50, 'POST', '/v1/tickets', 201, t \
         from (select i, now() - ($2 - i) * (interval '3 years' / $2) as t \
               from generate_series(1, $2) i) g"
    );
    run(admin, sql, tenant, n).await
}

/// `n` customers in billing's projection, each with a managed-services
/// contract (€1,000/month, €95/h, 10 included hours), a ticket and
/// `entries` approved hours of time worked in November 2026: what an
/// invoice run over that month bills.
pub async fn billing(admin: &PgPool, tenant: Uuid, n: i64, entries: i64) -> anyhow::Result<()> {
    let customer = customer_id("k");
    run(
        admin,
        format!(
            "insert into billing.customers (tenant_id, id, customer_number, name, address,
               einvoice_format, vat_treatment, version)
             select $1, {customer}, 'C-' || lpad(k::text, 6, '0'), 'Customer ' || k,
               '{{\"line1\": \"Hauptstr. 1\", \"postal_code\": \"10115\", \"city\": \"Berlin\", \"country\": \"DE\"}}',
               'zugferd', 'standard', 1
             from generate_series(1, $2) k"
        ),
        tenant,
        n,
    )
    .await?;
    run(
        admin,
        format!(
            "insert into billing.contracts (tenant_id, id, customer_id, name, type, status, currency,
               hourly_rate, monthly_fee, included_hours, start_date, billing_increment_minutes,
               billing_day, version)
             select $1, md5($1::text || ':contract:' || k)::uuid, {customer}, 'Managed services',
               'managed_services', 'active', 'EUR', 95, 1000, 10, '2026-01-01', 15, 1, 1
             from generate_series(1, $2) k"
        ),
        tenant,
        n,
    )
    .await?;
    run(
        admin,
        format!(
            "insert into billing.tickets (tenant_id, id, number, title, customer_id, version)
             select $1, md5($1::text || ':ticket:' || k)::uuid, 'T-' || lpad(k::text, 6, '0'),
               'Work', {customer}, 1
             from generate_series(1, $2) k"
        ),
        tenant,
        n,
    )
    .await?;
    sqlx::query(
        "insert into billing.items (tenant_id, id, ticket_id, user_id, started_at, work_date, minutes,
           billable, status, approved_by, approved_at, entry_version)
         select $1, md5($1::text || ':item:' || k || ':' || e)::uuid,
           md5($1::text || ':ticket:' || k)::uuid, 'tech-1',
           timestamptz '2026-11-02 09:00:00+00' + (e % 25) * interval '1 day',
           date '2026-11-02' + (e % 25)::int, 60, true, 'approved', 'bench', now(), 1
         from generate_series(1, $2) k, generate_series(1, $3) e",
    )
    .bind(tenant)
    .bind(n)
    .bind(entries)
    .execute(admin)
    .await?;
    Ok(())
}
