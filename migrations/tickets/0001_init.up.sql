-- Tickets: tickets, comments, time entries; projections of CRM customers and
-- contracts; outbox and inbox. RLS on every tenant table.

create or replace function tickets.current_tenant() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create table tickets.number_sequences (
    tenant_id uuid not null default tickets.current_tenant(),
    name text not null,
    last_value bigint not null,
    primary key (tenant_id, name)
);

-- What tickets knows of CRM, from its events (so it works while CRM is down).
create table tickets.customers (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    name text not null,
    status text not null,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

create table tickets.contracts (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    status text not null,
    start_date date not null,
    end_date date,
    sla jsonb,
    business_hours jsonb,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);
create index contracts_customer on tickets.contracts (tenant_id, customer_id);

create table tickets.tickets (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    number text not null,
    title text not null,
    description text,
    type text not null check (type in ('incident', 'service_request', 'problem', 'change')),
    priority text not null check (priority in ('low', 'medium', 'high', 'critical')),
    status text not null check (status in ('new', 'open', 'in_progress', 'waiting', 'resolved', 'closed')),
    queue text,
    assignee_id text,
    customer_id uuid not null,
    contact_id uuid,
    asset_id uuid,
    tags text[] not null default '{}',
    contract_id uuid,
    response_due_at timestamptz,
    resolution_due_at timestamptz,
    first_response_at timestamptz,
    waiting_since timestamptz,
    resolved_at timestamptz,
    response_breached_at timestamptz,
    resolution_breached_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, number)
);
create index tickets_updated on tickets.tickets (tenant_id, updated_at, id);

create table tickets.comments (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    ticket_id uuid not null,
    author text not null,
    visibility text not null check (visibility in ('internal', 'public')),
    body text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, ticket_id) references tickets.tickets (tenant_id, id)
);

create table tickets.time_entries (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    ticket_id uuid not null,
    user_id text not null,
    started_at timestamptz not null,
    minutes integer not null check (minutes > 0 and minutes <= 1440),
    description text,
    billable boolean not null default true,
    work_type text,
    billed_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, ticket_id) references tickets.tickets (tenant_id, id)
);

create table tickets.idempotency_keys (
    tenant_id uuid not null default tickets.current_tenant(),
    key text not null,
    request_hash text not null,
    status smallint not null,
    headers jsonb not null,
    body jsonb,
    created_at timestamptz not null default now(),
    primary key (tenant_id, key)
);

create table tickets.outbox (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null primary key,
    type text not null,
    subject text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index outbox_pending on tickets.outbox (created_at) where sent_at is null;

create table tickets.inbox (
    tenant_id uuid not null default tickets.current_tenant(),
    event_id uuid not null,
    type text not null,
    handled_at timestamptz not null default now(),
    primary key (tenant_id, event_id)
);

do $$
declare t text;
begin
    foreach t in array array['number_sequences', 'customers', 'contracts', 'tickets', 'comments', 'time_entries',
                             'idempotency_keys', 'outbox', 'inbox'] loop
        execute format('alter table tickets.%I enable row level security', t);
        execute format('alter table tickets.%I force row level security', t);
        execute format(
            'create policy tenant_isolation on tickets.%I using (tenant_id = tickets.current_tenant()) with check (tenant_id = tickets.current_tenant())',
            t);
    end loop;
end $$;

create function tickets.outbox_claim(max_rows integer)
    returns setof tickets.outbox
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select * from tickets.outbox where sent_at is null order by created_at, id limit max_rows for update skip locked $$;
create function tickets.outbox_mark_sent(ids uuid[])
    returns void
    language sql security definer set search_path = pg_catalog, tickets
    as $$ update tickets.outbox set sent_at = now() where id = any(ids) and sent_at is null $$;
create function tickets.outbox_stats(out pending bigint, out oldest timestamptz)
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select count(*), min(created_at) from tickets.outbox where sent_at is null $$;
-- The SLA watch serves every tenant: which tickets are past a due time not yet reported.
create function tickets.sla_overdue(at timestamptz)
    returns table (tenant_id uuid, id uuid)
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select tenant_id, id from tickets.tickets
          where status not in ('waiting', 'resolved', 'closed')
            and ((response_due_at < at and first_response_at is null and response_breached_at is null)
              or (resolution_due_at < at and resolution_breached_at is null))
          limit 500 $$;

revoke all on function tickets.outbox_claim(integer), tickets.outbox_mark_sent(uuid[]), tickets.outbox_stats(),
    tickets.sla_overdue(timestamptz) from public;
grant execute on function tickets.outbox_claim(integer), tickets.outbox_mark_sent(uuid[]), tickets.outbox_stats(),
    tickets.sla_overdue(timestamptz) to psa_tickets;
