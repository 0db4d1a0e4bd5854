drop function if exists tickets.outbox_defer(uuid[]);
create or replace function tickets.outbox_claim(max_rows integer)
    returns setof tickets.outbox
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select * from tickets.outbox where sent_at is null order by created_at, id limit max_rows for update skip locked $$;
alter table tickets.outbox drop column next_attempt_at, drop column attempts;
