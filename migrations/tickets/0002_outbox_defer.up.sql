-- Unroutable events stay pending but are retried with growing delays, so
-- they neither flood the broker and the logs nor starve newer events.
alter table tickets.outbox add column attempts integer not null default 0;
alter table tickets.outbox add column next_attempt_at timestamptz;

create or replace function tickets.outbox_claim(max_rows integer)
    returns setof tickets.outbox
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select * from tickets.outbox
          where sent_at is null and (next_attempt_at is null or next_attempt_at <= now())
          order by created_at, id limit max_rows for update skip locked $$;

create function tickets.outbox_defer(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, tickets
    as $$ update tickets.outbox set attempts = attempts + 1,
             next_attempt_at = now() + least(interval '5 minutes', interval '1 second' * power(2, least(attempts, 9)))
           where id = any(ids) and sent_at is null $$;

revoke all on function tickets.outbox_defer(uuid[]) from public;
grant execute on function tickets.outbox_defer(uuid[]) to psa_tickets;
