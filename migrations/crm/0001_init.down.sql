-- The module's own objects; the platform template's stay (they go with the schema).
drop table if exists crm.contracts, crm.sites, crm.contacts, crm.customers;
