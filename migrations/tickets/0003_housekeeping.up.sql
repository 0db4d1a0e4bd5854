-- Housekeeping across tenants, through one narrow function (owned by the
-- migrating role) instead of bypassing row-level security: rows past their
-- use are deleted. Idempotency keys answer retries for 24 hours only.
-- Published outbox rows are kept 7 days (for inspection); inbox entries 30
-- days, far longer than any redelivery, so a late duplicate is still caught.
create function tickets.housekeeping(out idempotency_keys bigint, out outbox bigint, out inbox bigint)
    language plpgsql security definer set search_path = pg_catalog, tickets
    as $$
begin
    delete from tickets.idempotency_keys where created_at < now() - interval '24 hours';
    get diagnostics idempotency_keys = row_count;
    delete from tickets.outbox where sent_at < now() - interval '7 days';
    get diagnostics outbox = row_count;
    delete from tickets.inbox where handled_at < now() - interval '30 days';
    get diagnostics inbox = row_count;
end $$;
revoke all on function tickets.housekeeping() from public;
grant execute on function tickets.housekeeping() to psa_tickets;
