-- The indexes the lists read (libs/psa-http/src/keyset.rs): a page is one
-- range of an index on (tenant_id, sort field, id), so it costs the same in
-- a tenant of any size. Every sort a list offers has one (customer_number
-- is unique: its constraint's index serves it); a customer's contacts,
-- sites and contracts — the sub-lists and the `customer_id` filter — have
-- one per sort led by customer_id. Filters of a few common values (status,
-- type, is_primary, active_on) are read along the sort's index; lookups
-- (an email, an external id) and the name search have indexes of their own
-- and sort only their matches.
--
-- Under row-level security an index serves a filter only through leakproof
-- operators (`=`, `<` … of text, uuid, dates): the policy's check must come
-- first, and a function that may fail on a row (lower(), ILIKE, jsonb's @>)
-- could tell of another tenant's rows. So the email filter compares a
-- stored lower-case copy with `=`, and the name search and the external-id
-- lookup go through two functions below that find the current tenant's
-- matches through their indexes.

-- The name search (`q`, a substring in any case) reads trigrams.
create extension if not exists pg_trgm with schema public;

create index customers_created on crm.customers (tenant_id, created_at, id);
-- (tenant_id, updated_at, id) and (tenant_id, name, id): customers_updated
-- and customers_name, in 0001.
create index customers_name_search on crm.customers using gin (name public.gin_trgm_ops);
create index customers_external_ids on crm.customers using gin (external_ids jsonb_path_ops);

-- The current tenant's customers whose name is like `pattern` (ILIKE), and
-- the one (or few) with the external id `system:external_id`: ids for the
-- customer list to take (`id in (select …)`). As the schema's owner, past
-- the policy, so each reads its index; the tenant is checked here instead.
create function crm.customers_named_like(pattern text) returns setof uuid
    language sql stable security definer set search_path = pg_catalog, crm
    rows 100
    as $$ select id from crm.customers where tenant_id = crm.current_tenant() and name ilike pattern $$;
create function crm.customers_with_external_id(system text, external_id text) returns setof uuid
    language sql stable security definer set search_path = pg_catalog, crm
    rows 1
    as $$ select id from crm.customers where tenant_id = crm.current_tenant()
              and external_ids @> jsonb_build_object(system, external_id) $$;
revoke all on function crm.customers_named_like(text), crm.customers_with_external_id(text, text) from public;
grant execute on function crm.customers_named_like(text), crm.customers_with_external_id(text, text) to psa_crm;

drop index crm.contacts_customer;
create index contacts_created on crm.contacts (tenant_id, created_at, id);
create index contacts_updated on crm.contacts (tenant_id, updated_at, id);
create index contacts_name on crm.contacts (tenant_id, name, id);
create index contacts_customer_created on crm.contacts (tenant_id, customer_id, created_at, id);
create index contacts_customer_updated on crm.contacts (tenant_id, customer_id, updated_at, id);
create index contacts_customer_name on crm.contacts (tenant_id, customer_id, name, id);
alter table crm.contacts add column email_key text generated always as (lower(email)) stored;
create index contacts_email on crm.contacts (tenant_id, email_key);

drop index crm.sites_customer;
create index sites_created on crm.sites (tenant_id, created_at, id);
create index sites_updated on crm.sites (tenant_id, updated_at, id);
create index sites_name on crm.sites (tenant_id, name, id);
create index sites_customer_created on crm.sites (tenant_id, customer_id, created_at, id);
create index sites_customer_updated on crm.sites (tenant_id, customer_id, updated_at, id);
create index sites_customer_name on crm.sites (tenant_id, customer_id, name, id);

drop index crm.contracts_customer;
create index contracts_created on crm.contracts (tenant_id, created_at, id);
create index contracts_updated on crm.contracts (tenant_id, updated_at, id);
create index contracts_name on crm.contracts (tenant_id, name, id);
create index contracts_start on crm.contracts (tenant_id, start_date, id);
create index contracts_customer_created on crm.contracts (tenant_id, customer_id, created_at, id);
create index contracts_customer_updated on crm.contracts (tenant_id, customer_id, updated_at, id);
create index contracts_customer_name on crm.contracts (tenant_id, customer_id, name, id);
create index contracts_customer_start on crm.contracts (tenant_id, customer_id, start_date, id);
