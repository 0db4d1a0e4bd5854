drop function if exists crm.outbox_defer(uuid[]);
create or replace function crm.outbox_claim(max_rows integer)
    returns setof crm.outbox
    language sql security definer set search_path = pg_catalog, crm
    as $$ select * from crm.outbox where sent_at is null order by created_at, id limit max_rows for update skip locked $$;
alter table crm.outbox drop column next_attempt_at, drop column attempts;
