-- Housekeeping across tenants, through one narrow function (owned by the
-- migrating role) instead of bypassing row-level security: rows past their
-- use are deleted. Idempotency keys answer retries for 24 hours only.
-- Published outbox rows are kept 7 days (for inspection), then go.
create function crm.housekeeping(out idempotency_keys bigint, out outbox bigint)
    language plpgsql security definer set search_path = pg_catalog, crm
    as $$
begin
    delete from crm.idempotency_keys where created_at < now() - interval '24 hours';
    get diagnostics idempotency_keys = row_count;
    delete from crm.outbox where sent_at < now() - interval '7 days';
    get diagnostics outbox = row_count;
end $$;
revoke all on function crm.housekeeping() from public;
grant execute on function crm.housekeeping() to psa_crm;
