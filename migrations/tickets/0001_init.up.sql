-- Tickets: tickets, comments, time entries; projections of CRM customers and
-- contracts. RLS on every tenant table. current_tenant(), isolate_by_tenant(…),
-- the outbox, the inbox, idempotency_keys, number_sequences and housekeeping()
-- come from the platform template (libs/psa-db/sql/platform.sql), applied
-- before this.

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

call tickets.isolate_by_tenant('customers', 'contracts', 'tickets', 'comments', 'time_entries');

-- The SLA watch serves every tenant: which tickets are past a due time not yet reported.
create function tickets.sla_overdue(at timestamptz)
    returns table (tenant_id uuid, id uuid)
    language sql security definer set search_path = pg_catalog, tickets
    as $$ select tenant_id, id from tickets.tickets
          where status not in ('waiting', 'resolved', 'closed')
            and ((response_due_at < at and first_response_at is null and response_breached_at is null)
              or (resolution_due_at < at and resolution_breached_at is null))
          limit 500 $$;

revoke all on function tickets.sla_overdue(timestamptz) from public;
grant execute on function tickets.sla_overdue(timestamptz) to psa_tickets;
