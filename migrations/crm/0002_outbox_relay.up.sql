-- The outbox relay serves every tenant, so it reads and marks rows through
-- these narrow functions (owned by the migrating role) instead of bypassing
-- row-level security on the table.

create function crm.outbox_claim(max_rows integer)
    returns setof crm.outbox
    language sql security definer set search_path = pg_catalog, crm
    as $$ select * from crm.outbox where sent_at is null order by created_at, id limit max_rows for update skip locked $$;

create function crm.outbox_mark_sent(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, crm
    as $$ update crm.outbox set sent_at = now() where id = any(ids) and sent_at is null $$;

create function crm.outbox_stats(out pending bigint, out oldest timestamptz)
    language sql security definer set search_path = pg_catalog, crm
    as $$ select count(*), min(created_at) from crm.outbox where sent_at is null $$;

revoke all on function crm.outbox_claim(integer), crm.outbox_mark_sent(uuid[]), crm.outbox_stats() from public;
grant execute on function crm.outbox_claim(integer), crm.outbox_mark_sent(uuid[]), crm.outbox_stats() to psa_crm;
