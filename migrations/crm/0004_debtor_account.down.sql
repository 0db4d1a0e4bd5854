alter table crm.customers drop column if exists debtor_account;
