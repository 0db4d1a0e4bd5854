-- The customer's DATEV debtor account (Personenkonto), for the billing
-- module's DATEV export: 5 to 9 digits, 1 to 6 first.
alter table crm.customers
    add column debtor_account text
        constraint customers_debtor_account check (debtor_account ~ '^[1-6][0-9]{4,8}$');
