-- The gateway's audit log of writes: who, what, when, result, request id.

create or replace function gateway.current_tenant() returns uuid
    language sql stable
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create table gateway.audit_log (
    tenant_id uuid not null default gateway.current_tenant(),
    id uuid not null,
    request_id text not null,
    subject text not null,
    client_id text,
    method text not null,
    path text not null,
    resource_id text,
    status smallint not null,
    created_at timestamptz not null,
    primary key (tenant_id, id)
);
create index audit_log_request on gateway.audit_log (tenant_id, request_id);

alter table gateway.audit_log enable row level security;
alter table gateway.audit_log force row level security;
create policy tenant_isolation on gateway.audit_log
    using (tenant_id = gateway.current_tenant()) with check (tenant_id = gateway.current_tenant());
