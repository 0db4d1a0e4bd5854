-- Housekeeping across tenants, through one narrow function (owned by the
-- migrating role) instead of bypassing row-level security: rows past their
-- use are deleted. Idempotency keys answer retries for 24 hours only.
-- Authorization codes and refresh tokens are useless a day after they
-- expire (an expired token is refused whether its row exists or not).
create function auth.housekeeping(out idempotency_keys bigint, out authorization_codes bigint, out refresh_tokens bigint)
    language plpgsql security definer set search_path = pg_catalog, auth
    as $$
begin
    delete from auth.idempotency_keys where created_at < now() - interval '24 hours';
    get diagnostics idempotency_keys = row_count;
    delete from auth.authorization_codes where expires_at < now() - interval '1 day';
    get diagnostics authorization_codes = row_count;
    delete from auth.refresh_tokens where expires_at < now() - interval '1 day';
    get diagnostics refresh_tokens = row_count;
end $$;
revoke all on function auth.housekeeping() from public;
grant execute on function auth.housekeeping() to psa_auth;
