-- The throw-away module of services/psa/tests/registry.rs: one tenant table.
-- current_tenant() and isolate_by_tenant(…) come from the platform template.

create table widgets.widgets (
    tenant_id uuid not null default widgets.current_tenant(),
    id uuid not null,
    name text not null,
    primary key (tenant_id, id)
);

call widgets.isolate_by_tenant('widgets');
