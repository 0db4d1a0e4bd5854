drop index crm.contracts_customer_start;
drop index crm.contracts_customer_name;
drop index crm.contracts_customer_updated;
drop index crm.contracts_customer_created;
drop index crm.contracts_start;
drop index crm.contracts_name;
drop index crm.contracts_updated;
drop index crm.contracts_created;
create index contracts_customer on crm.contracts (tenant_id, customer_id, id);

drop index crm.sites_customer_name;
drop index crm.sites_customer_updated;
drop index crm.sites_customer_created;
drop index crm.sites_name;
drop index crm.sites_updated;
drop index crm.sites_created;
create index sites_customer on crm.sites (tenant_id, customer_id, id);

drop index crm.contacts_email;
alter table crm.contacts drop column email_key;
drop index crm.contacts_customer_name;
drop index crm.contacts_customer_updated;
drop index crm.contacts_customer_created;
drop index crm.contacts_name;
drop index crm.contacts_updated;
drop index crm.contacts_created;
create index contacts_customer on crm.contacts (tenant_id, customer_id, id);

drop function crm.customers_with_external_id(text, text);
drop function crm.customers_named_like(text);
drop index crm.customers_external_ids;
drop index crm.customers_name_search;
drop index crm.customers_created;
-- pg_trgm stays: other schemas of the database may use it.
