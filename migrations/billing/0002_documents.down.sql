drop function if exists billing.renders_due(timestamptz);
drop table if exists billing.pending_renders;
alter table billing.customers drop column if exists debtor_account;
alter table billing.settings drop column if exists datev_consultant_number,
    drop column if exists datev_client_number, drop column if exists fiscal_year_start_month,
    drop column if exists account_length;
drop table if exists billing.documents;
drop function if exists billing.documents_are_final();
