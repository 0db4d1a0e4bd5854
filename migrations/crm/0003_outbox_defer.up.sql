-- Unroutable events stay pending but are retried with growing delays, so
-- they neither flood the broker and the logs nor starve newer events.
alter table crm.outbox add column attempts integer not null default 0;
alter table crm.outbox add column next_attempt_at timestamptz;

create or replace function crm.outbox_claim(max_rows integer)
    returns setof crm.outbox
    language sql security definer set search_path = pg_catalog, crm
    as $$ select * from crm.outbox
          where sent_at is null and (next_attempt_at is null or next_attempt_at <= now())
          order by created_at, id limit max_rows for update skip locked $$;

create function crm.outbox_defer(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, crm
    as $$ update crm.outbox set attempts = attempts + 1,
             next_attempt_at = now() + least(interval '5 minutes', interval '1 second' * power(2, least(attempts, 9)))
           where id = any(ids) and sent_at is null $$;

revoke all on function crm.outbox_defer(uuid[]) from public;
grant execute on function crm.outbox_defer(uuid[]) to psa_crm;
