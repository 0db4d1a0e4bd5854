-- What tickets know of assets (from the assets module's events), so a
-- ticket's asset_id is checked like its customer; the tenant's ticket
-- settings; and the tickets opened for asset.eol notices, once each.

create table tickets.assets (
    tenant_id uuid not null default tickets.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    name text not null,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

create table tickets.settings (
    tenant_id uuid not null default tickets.current_tenant() primary key,
    open_tickets_for_asset_eol boolean not null default false,
    asset_eol_priority text not null default 'medium'
        check (asset_eol_priority in ('low', 'medium', 'high', 'critical')),
    asset_eol_queue text,
    version bigint not null default 1,
    updated_at timestamptz not null default now()
);

create table tickets.asset_eol_tickets (
    tenant_id uuid not null default tickets.current_tenant(),
    asset_id uuid not null,
    kind text not null,
    threshold integer not null,
    due_date date not null,
    ticket_id uuid not null,
    primary key (tenant_id, asset_id, kind, threshold, due_date)
);

call tickets.isolate_by_tenant('assets', 'settings', 'asset_eol_tickets');
