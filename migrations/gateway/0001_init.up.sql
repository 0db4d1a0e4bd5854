-- The gateway's audit log of writes: who, what, when, result, request id.
-- current_tenant() and isolate_by_tenant(…) come from the platform template
-- (libs/psa-db/sql/platform.sql), applied before this.

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

call gateway.isolate_by_tenant('audit_log');
