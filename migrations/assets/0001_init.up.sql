-- Assets: the configuration items an MSP manages for its customers, their
-- types, licenses and seat assignments, the end-of-life watch, RMM
-- inventory links; projections of CRM customers, contacts and sites. RLS on
-- every tenant table. current_tenant(), isolate_by_tenant(…), the outbox,
-- the inbox, idempotency_keys and housekeeping() come from the platform
-- template (libs/psa-db/sql/platform.sql), applied before this.

-- What assets know of CRM, from its events (so assets can be recorded and
-- inventory imported while CRM is down).
create table assets.customers (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    name text not null,
    external_ids jsonb not null default '{}',
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

create table assets.contacts (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    email text,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);
create index contacts_email on assets.contacts (tenant_id, lower(email)) where not deleted;

create table assets.sites (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

-- Per tenant: the watch's schedule and thresholds. Its row is made with the
-- tenant's default asset types on the tenant's first use.
create table assets.settings (
    tenant_id uuid not null default assets.current_tenant() primary key,
    time_zone text not null default 'UTC',
    watch_hour smallint not null default 6 check (watch_hour between 0 and 23),
    thresholds integer[] not null default '{90,30,7,0}',
    last_watch_date date,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table assets.asset_types (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    key text not null,
    name text not null,
    fields jsonb not null default '[]',
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, key)
);

create table assets.assets (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    site_id uuid,
    contact_id uuid,
    parent_id uuid,
    name text not null,
    type text not null,
    manufacturer text,
    model text,
    serial_number text,
    asset_tag text,
    status text not null check (status in ('in_stock', 'deployed', 'in_repair', 'retired')),
    purchase_date date,
    purchase_price numeric(14, 2),
    currency char(3),
    warranty_end date,
    eol_date date,
    eol_source text,
    hostname text,
    os_name text,
    os_version text,
    last_seen_at timestamptz,
    notes text,
    custom_fields jsonb not null default '{}',
    external_ids jsonb not null default '{}',
    -- Fields a person set through the API: inventory imports leave them be.
    manual_fields text[] not null default '{}',
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, type) references assets.asset_types (tenant_id, key),
    foreign key (tenant_id, parent_id) references assets.assets (tenant_id, id)
);
create unique index assets_serial on assets.assets
    (tenant_id, lower(coalesce(manufacturer, '')), serial_number) where serial_number is not null;
create index assets_updated on assets.assets (tenant_id, updated_at, id);
create index assets_customer on assets.assets (tenant_id, customer_id, created_at, id);
create index assets_parent on assets.assets (tenant_id, parent_id) where parent_id is not null;
create index assets_warranty on assets.assets (tenant_id, warranty_end) where warranty_end is not null;
create index assets_eol on assets.assets (tenant_id, eol_date) where eol_date is not null;

-- Which asset an RMM's record is: upserts find it by (source, external id).
create table assets.inventory_links (
    tenant_id uuid not null default assets.current_tenant(),
    source text not null,
    external_id text not null,
    asset_id uuid not null,
    -- The last record's fields as the RMM sent them (heartbeats excluded):
    -- an import that repeats them changes nothing.
    fingerprint text not null,
    last_seen_at timestamptz,
    primary key (tenant_id, source, external_id),
    foreign key (tenant_id, asset_id) references assets.assets (tenant_id, id) on delete cascade
);

create table assets.licenses (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    product text not null,
    vendor text,
    license_key bytea,
    seats integer not null check (seats between 1 and 1000000),
    start_date date,
    expiry_date date,
    cost numeric(14, 2),
    currency char(3),
    billing_cycle text check (billing_cycle in ('monthly', 'quarterly', 'annual', 'one_time')),
    notes text,
    external_ids jsonb not null default '{}',
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create index licenses_updated on assets.licenses (tenant_id, updated_at, id);
create index licenses_expiry on assets.licenses (tenant_id, expiry_date) where expiry_date is not null;

create table assets.license_assignments (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    license_id uuid not null,
    asset_id uuid,
    contact_id uuid,
    note text,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    check ((asset_id is null) <> (contact_id is null)),
    unique (tenant_id, license_id, asset_id),
    unique (tenant_id, license_id, contact_id),
    foreign key (tenant_id, license_id) references assets.licenses (tenant_id, id) on delete cascade,
    foreign key (tenant_id, asset_id) references assets.assets (tenant_id, id) on delete cascade
);

-- Every reveal of a license key: who, when (the key itself is never logged).
create table assets.key_reveals (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    license_id uuid not null,
    subject text not null,
    client_id text,
    revealed_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

-- What the watch has reported: once per (item, kind, threshold, date).
create table assets.watch_notices (
    tenant_id uuid not null default assets.current_tenant(),
    item_id uuid not null,
    kind text not null check (kind in ('warranty', 'eol', 'license')),
    threshold integer not null,
    due_date date not null,
    reported_at timestamptz not null default now(),
    primary key (tenant_id, item_id, kind, threshold, due_date)
);

-- A tenant's mapping of a manufacturer's model to an end-of-life product cycle.
create table assets.eol_mappings (
    tenant_id uuid not null default assets.current_tenant(),
    id uuid not null,
    manufacturer text not null,
    model text not null,
    product text not null,
    cycle text not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, manufacturer, model)
);

call assets.isolate_by_tenant('customers', 'contacts', 'sites', 'settings', 'asset_types',
    'assets', 'inventory_links', 'licenses', 'license_assignments', 'key_reveals',
    'watch_notices', 'eol_mappings');

-- Reference data, the same for every tenant: end-of-life dates of product
-- cycles (a snapshot of endoflife.date, shipped and refreshed by import).
create table assets.eol_snapshot (
    id boolean primary key default true check (id),
    source text not null,
    as_of date not null,
    imported_at timestamptz not null default now()
);

create table assets.eol_products (
    product text primary key,
    label text not null,
    match text[] not null default '{}'
);

create table assets.eol_cycles (
    product text not null references assets.eol_products on delete cascade,
    cycle text not null,
    release_date date,
    support date,
    eol date not null,
    primary key (product, cycle)
);

-- The watch serves every tenant: which tenants have something to watch.
create function assets.watched_tenants()
    returns table (tenant_id uuid)
    language sql security definer set search_path = pg_catalog, assets
    as $$ select tenant_id from assets.settings $$;

revoke all on function assets.watched_tenants() from public;
grant execute on function assets.watched_tenants() to psa_assets;
