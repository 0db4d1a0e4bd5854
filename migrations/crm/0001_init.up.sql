-- CRM: customers, contacts, sites, contracts. Every tenant table: tenant_id
-- defaulted from the transaction's tenant, row-level security enabled and
-- forced, one policy matching only the current tenant (none when unset).
-- current_tenant(), isolate_by_tenant(…), the outbox, idempotency_keys,
-- number_sequences and housekeeping() come from the platform template
-- (libs/psa-db/sql/platform.sql), applied before this.

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

call crm.isolate_by_tenant('customers', 'contacts', 'sites', 'contracts');
