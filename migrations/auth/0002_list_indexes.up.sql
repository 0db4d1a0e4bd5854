-- The indexes the lists read (libs/psa-http/src/keyset.rs): every sort a
-- list offers is one range of an index on (tenant_id, sort field, id) —
-- (sort field, id) for tenants, which have no tenant — so a page costs the
-- same however many rows there are. `id` is the primary key's; emails,
-- slugs and role names are unique, their constraints' indexes serve them.
-- The user list's status filter (a few common values) is read along the
-- sort's index.

create index users_created on auth.users (tenant_id, created_at, id);
create index users_updated on auth.users (tenant_id, updated_at, id);
create index users_name on auth.users (tenant_id, name, id);

create index service_accounts_created on auth.service_accounts (tenant_id, created_at, id);
create index service_accounts_updated on auth.service_accounts (tenant_id, updated_at, id);
create index service_accounts_name on auth.service_accounts (tenant_id, name, id);

create index api_keys_created on auth.api_keys (tenant_id, created_at, id);
create index api_keys_updated on auth.api_keys (tenant_id, updated_at, id);
create index api_keys_name on auth.api_keys (tenant_id, name, id);

create index audit_events_created on auth.audit_events (tenant_id, created_at, id);

create index tenants_created on auth.tenants (created_at, id);
create index tenants_updated on auth.tenants (updated_at, id);
create index tenants_name on auth.tenants (name, id);
