drop table if exists crm.outbox, crm.idempotency_keys, crm.contracts, crm.sites, crm.contacts, crm.customers, crm.number_sequences;
drop function if exists crm.current_tenant();
