-- CRM: customers, contacts, sites, contracts; idempotency keys and the event outbox.
-- Every tenant table: tenant_id defaulted from the transaction's tenant, row-level
-- security enabled and forced, one policy matching only the current tenant (none when unset).

create or replace function crm.current_tenant() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create table crm.number_sequences (
    tenant_id uuid not null default crm.current_tenant(),
    name text not null,
    last_value bigint not null,
    primary key (tenant_id, name)
);

create table crm.customers (
    tenant_id uuid not null default crm.current_tenant(),
    id uuid not null,
    customer_number text not null,
    name text not null,
    status text not null check (status in ('active', 'inactive')),
    email text,
    phone text,
    website text,
    address jsonb,
    notes text,
    external_ids jsonb not null default '{}'::jsonb,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint customers_number_unique unique (tenant_id, customer_number)
);
create index customers_updated on crm.customers (tenant_id, updated_at, id);
create index customers_name on crm.customers (tenant_id, name, id);

create table crm.contacts (
    tenant_id uuid not null default crm.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    name text not null,
    email text,
    phone text,
    title text,
    is_primary boolean not null default false,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, customer_id) references crm.customers (tenant_id, id) on delete cascade
);
create index contacts_customer on crm.contacts (tenant_id, customer_id, id);
create unique index contacts_one_primary on crm.contacts (tenant_id, customer_id) where is_primary;

create table crm.sites (
    tenant_id uuid not null default crm.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    name text not null,
    address jsonb,
    phone text,
    time_zone text,
    notes text,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, customer_id) references crm.customers (tenant_id, id) on delete cascade
);
create index sites_customer on crm.sites (tenant_id, customer_id, id);

create table crm.contracts (
    tenant_id uuid not null default crm.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    name text not null,
    type text not null check (type in ('managed_services', 'time_and_materials', 'block_hours', 'project')),
    status text not null check (status in ('draft', 'active', 'suspended', 'ended')),
    start_date date not null,
    end_date date,
    currency char(3) not null,
    hourly_rate numeric(14, 2),
    monthly_fee numeric(14, 2),
    included_hours numeric(10, 2),
    sla jsonb,
    business_hours jsonb,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint contracts_customer_fk foreign key (tenant_id, customer_id)
        references crm.customers (tenant_id, id) on delete restrict,
    constraint contracts_dates check (end_date is null or end_date >= start_date)
);
create index contracts_customer on crm.contracts (tenant_id, customer_id, id);

create table crm.idempotency_keys (
    tenant_id uuid not null default crm.current_tenant(),
    key text not null,
    request_hash text not null,
    status smallint not null,
    headers jsonb not null,
    body jsonb,
    created_at timestamptz not null default now(),
    primary key (tenant_id, key)
);

-- Events are written here in the same transaction as the change; a relay publishes them.
create table crm.outbox (
    tenant_id uuid not null default crm.current_tenant(),
    id uuid not null primary key,
    type text not null,
    subject text not null,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index outbox_pending on crm.outbox (created_at) where sent_at is null;

do $$
declare t text;
begin
    foreach t in array array['number_sequences', 'customers', 'contacts', 'sites', 'contracts', 'idempotency_keys', 'outbox'] loop
        execute format('alter table crm.%I enable row level security', t);
        execute format('alter table crm.%I force row level security', t);
        execute format(
            'create policy tenant_isolation on crm.%I using (tenant_id = crm.current_tenant()) with check (tenant_id = crm.current_tenant())',
            t);
    end loop;
end $$;
