-- The platform objects of one module schema, written once for every module.
-- `psa_db::migrate_module` applies this BEFORE the module's own migrations,
-- so those may use {{schema}}.current_tenant(), {{schema}}.isolate_by_tenant(…),
-- {{schema}}.delete_after(…) and the tables below. `{{schema}}` and `{{role}}` stand for the module's
-- schema and role (plain lower-case identifiers, checked before they are
-- put in). The part before the first `-- @part` line goes to every schema;
-- each `-- @part <name>` section only to the schemas whose `ModuleDb`
-- lists that part.
--
-- The text is applied again whenever it (or the parts a module lists)
-- changes: its hash is kept in {{schema}}._psa_platform. So every statement
-- must be idempotent — `create … if not exists`, `create or replace
-- function`, `alter table … add column if not exists`, policies through
-- isolate_by_tenant(…) — and a function whose result type changes needs a
-- `drop function if exists` first.
--
-- Cross-tenant work (the outbox relay, housekeeping) goes through narrow
-- `security definer` functions owned by the migrating role, granted to the
-- module's role alone; the role itself keeps DML grants under row-level
-- security on the tenant tables, owns nothing and cannot touch the `_psa_`
-- bookkeeping tables.

create table if not exists {{schema}}._psa_platform (
    only_row boolean primary key default true check (only_row),
    version text not null,
    applied_at timestamptz not null default now()
);

-- What housekeeping deletes: rows of `table_name` whose `age_column` lies
-- more than `keep` in the past (a null never does). Only the migrating role
-- writes it, through delete_after(…) below.
create table if not exists {{schema}}._psa_retention (
    table_name name primary key,
    age_column name not null,
    keep interval not null
);

-- The tenant a transaction works for (`set_config('app.tenant_id', …, true)`),
-- null when none is set: then tenant policies match no row.
create or replace function {{schema}}.current_tenant() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- For migrations: row-level security enabled and forced on tenant tables
-- (each with a `tenant_id` column), and one policy letting a transaction see
-- and write only its current tenant's rows.
create or replace procedure {{schema}}.isolate_by_tenant(variadic tables text[])
    language plpgsql set search_path = pg_catalog, {{schema}}
    as $$
declare
    t text;
    verb text;
begin
    foreach t in array tables loop
        execute format('alter table {{schema}}.%I enable row level security', t);
        execute format('alter table {{schema}}.%I force row level security', t);
        -- Altered in place when it exists, so applying again keeps one policy.
        verb := case when exists (select 1 from pg_policy
                                   where polrelid = format('{{schema}}.%I', t)::regclass and polname = 'tenant_isolation')
                     then 'alter' else 'create' end;
        execute format(
            '%s policy tenant_isolation on {{schema}}.%I'
            ' using (tenant_id = {{schema}}.current_tenant()) with check (tenant_id = {{schema}}.current_tenant())',
            verb, t);
    end loop;
end $$;
revoke all on procedure {{schema}}.isolate_by_tenant(text[]) from public;

-- For migrations: housekeeping deletes rows of table `tbl` once their
-- `age_col` lies `keep` in the past. The parts below call it for their
-- tables; a module for its own (e.g. expired authorization codes).
create or replace procedure {{schema}}.delete_after(tbl name, age_col name, keep interval)
    language sql set search_path = pg_catalog, {{schema}}
    as $$ insert into {{schema}}._psa_retention (table_name, age_column, keep) values (tbl, age_col, keep)
          on conflict (table_name) do update set age_column = excluded.age_column, keep = excluded.keep $$;
revoke all on procedure {{schema}}.delete_after(name, name, interval) from public;

-- Housekeeping across tenants, as {{schema}}._psa_retention says: deletes
-- rows past their use, returns how many per table.
create or replace function {{schema}}.housekeeping() returns jsonb
    language plpgsql security definer set search_path = pg_catalog, {{schema}}
    as $$
declare
    r record;
    n bigint;
    deleted jsonb := '{}';
begin
    for r in select table_name, age_column, keep from {{schema}}._psa_retention order by table_name loop
        execute format('delete from {{schema}}.%I where %I < now() - $1', r.table_name, r.age_column) using r.keep;
        get diagnostics n = row_count;
        deleted := deleted || jsonb_build_object(r.table_name, n);
    end loop;
    return deleted;
end $$;
revoke all on function {{schema}}.housekeeping() from public;
grant execute on function {{schema}}.housekeeping() to {{role}};

-- @part outbox
-- Events are written here in the same transaction as the change; a relay
-- (serving every tenant) publishes them through the functions below.
create table if not exists {{schema}}.outbox (
    tenant_id uuid not null default {{schema}}.current_tenant(),
    id uuid not null primary key,
    type text not null,
    subject text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    -- Unroutable events stay pending but are retried with growing delays, so
    -- they neither flood the broker and the logs nor starve newer events.
    attempts integer not null default 0,
    next_attempt_at timestamptz
);
create index if not exists outbox_pending on {{schema}}.outbox (created_at) where sent_at is null;
call {{schema}}.isolate_by_tenant('outbox');

create or replace function {{schema}}.outbox_claim(max_rows integer)
    returns setof {{schema}}.outbox
    language sql security definer set search_path = pg_catalog, {{schema}}
    as $$ select * from {{schema}}.outbox
          where sent_at is null and (next_attempt_at is null or next_attempt_at <= now())
          order by created_at, id limit max_rows for update skip locked $$;

create or replace function {{schema}}.outbox_mark_sent(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, {{schema}}
    as $$ update {{schema}}.outbox set sent_at = now() where id = any(ids) and sent_at is null $$;

create or replace function {{schema}}.outbox_defer(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, {{schema}}
    as $$ update {{schema}}.outbox set attempts = attempts + 1,
             next_attempt_at = now() + least(interval '5 minutes', interval '1 second' * power(2, least(attempts, 9)))
           where id = any(ids) and sent_at is null $$;

create or replace function {{schema}}.outbox_stats(out pending bigint, out oldest timestamptz)
    language sql security definer set search_path = pg_catalog, {{schema}}
    as $$ select count(*), min(created_at) from {{schema}}.outbox where sent_at is null $$;

-- Waking the relay on commit. A transaction that wrote events sends
-- NOTIFY {{schema}}_outbox (delivered when it commits) — but only while a
-- relay waits for one: every NOTIFY takes a cluster-wide lock at commit, which
-- makes committing transactions queue behind one another (measured: 8,600
-- inserts/s become 1,200), so a busy relay is left unwoken. An idle relay
-- sets `listening_until` (a lease, so that a relay that died stops the
-- notifying soon) and clears it when woken. Unlogged: a lease needs no
-- durability, and its updates cost no WAL flush.
create unlogged table if not exists {{schema}}._psa_outbox_relay (
    only_row boolean primary key default true check (only_row),
    listening_until timestamptz
);

-- A relay waits for a wake-up for `lease` from now; null: it is awake.
create or replace function {{schema}}.outbox_listening(lease interval)
    returns void
    language sql security definer set search_path = pg_catalog, {{schema}}
    as $$ insert into {{schema}}._psa_outbox_relay (only_row, listening_until) values (true, clock_timestamp() + lease)
          on conflict (only_row) do update set listening_until = excluded.listening_until $$;

-- Deferred to the commit, so the lease is read as late as possible: a relay
-- that started waiting while the transaction ran is still woken.
create or replace function {{schema}}.outbox_wake() returns trigger
    language plpgsql security definer set search_path = pg_catalog, {{schema}}
    as $$
begin
    if exists (select 1 from {{schema}}._psa_outbox_relay where listening_until > clock_timestamp()) then
        perform pg_notify('{{schema}}_outbox', '');
    end if;
    return null;
end $$;
-- (A constraint trigger cannot be created `or replace`.)
drop trigger if exists outbox_wake on {{schema}}.outbox;
create constraint trigger outbox_wake after insert on {{schema}}.outbox
    deferrable initially deferred for each row execute function {{schema}}.outbox_wake();

revoke all on function {{schema}}.outbox_claim(integer), {{schema}}.outbox_mark_sent(uuid[]),
    {{schema}}.outbox_defer(uuid[]), {{schema}}.outbox_stats(), {{schema}}.outbox_listening(interval),
    {{schema}}.outbox_wake() from public;
grant execute on function {{schema}}.outbox_claim(integer), {{schema}}.outbox_mark_sent(uuid[]),
    {{schema}}.outbox_defer(uuid[]), {{schema}}.outbox_stats(), {{schema}}.outbox_listening(interval) to {{role}};

-- Published rows are kept 7 days (for inspection), then go; pending ones stay.
call {{schema}}.delete_after('outbox', 'sent_at', '7 days');

-- @part inbox
-- The ids of the events a consumer handled, recorded in the same
-- transaction as the effect: a redelivered event has no second effect.
create table if not exists {{schema}}.inbox (
    tenant_id uuid not null default {{schema}}.current_tenant(),
    event_id uuid not null,
    type text not null,
    handled_at timestamptz not null default now(),
    primary key (tenant_id, event_id)
);
call {{schema}}.isolate_by_tenant('inbox');

-- Kept 30 days, far longer than any redelivery, so a late duplicate is still caught.
call {{schema}}.delete_after('inbox', 'handled_at', '30 days');

-- @part idempotency_keys
-- The stored response of a POST with an `Idempotency-Key`, replayed on retry.
create table if not exists {{schema}}.idempotency_keys (
    tenant_id uuid not null default {{schema}}.current_tenant(),
    key text not null,
    request_hash text not null,
    status smallint not null,
    headers jsonb not null,
    body jsonb,
    created_at timestamptz not null default now(),
    primary key (tenant_id, key)
);
call {{schema}}.isolate_by_tenant('idempotency_keys');

-- Keys answer retries for 24 hours only.
call {{schema}}.delete_after('idempotency_keys', 'created_at', '24 hours');

-- @part number_sequences
-- Per-tenant counters behind human-readable numbers (customer and ticket
-- numbers): one row per sequence name.
create table if not exists {{schema}}.number_sequences (
    tenant_id uuid not null default {{schema}}.current_tenant(),
    name text not null,
    last_value bigint not null,
    primary key (tenant_id, name)
);
call {{schema}}.isolate_by_tenant('number_sequences');

-- The next value of `tenant`'s counter `seq`. Called on a connection of its
-- own, in a transaction of its own (psa_kernel::Tx::next_number: one
-- statement, its commit not waiting for the disk), not in the transaction
-- that uses the number: the counter row is locked for that short while
-- only, so a tenant's concurrent writes do not queue behind one another. Numbers are
-- unique and increasing; one whose transaction rolls back is skipped (a
-- gap), so gap-free numbering (invoices) needs a counter bumped in the
-- transaction that uses the number. Runs as the caller, under row-level
-- security: it sets the tenant for its insert and restores the caller's
-- setting after.
create or replace function {{schema}}.next_number(tenant uuid, seq text) returns bigint
    language plpgsql set search_path = pg_catalog, {{schema}}
    as $$
declare
    caller_tenant text := current_setting('app.tenant_id', true);
    v bigint;
begin
    perform set_config('app.tenant_id', tenant::text, true);
    insert into {{schema}}.number_sequences as s (name, last_value) values (seq, 1)
        on conflict (tenant_id, name) do update set last_value = s.last_value + 1
        returning s.last_value into v;
    perform set_config('app.tenant_id', coalesce(caller_tenant, ''), true);
    return v;
end $$;
revoke all on function {{schema}}.next_number(uuid, text) from public;
grant execute on function {{schema}}.next_number(uuid, text) to {{role}};
