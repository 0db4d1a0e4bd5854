-- What billing needs of a customer and a contract. Formats (VAT id, tax
-- number, Leitweg-ID, e-mail) are checked by the API as the document states
-- them; the columns hold the ranges and value sets, as for `status`.

alter table crm.customers
    add column vat_id text,
    add column tax_number text,
    add column leitweg_id text,
    add column payment_terms_days integer
        constraint customers_payment_terms_days check (payment_terms_days between 0 and 365),
    add column invoice_email text,
    add column einvoice_format text not null default 'zugferd'
        constraint customers_einvoice_format check (einvoice_format in ('xrechnung', 'zugferd', 'pdf')),
    add column vat_treatment text not null default 'standard'
        constraint customers_vat_treatment check (vat_treatment in
            ('standard', 'reverse_charge', 'intra_eu_supply', 'export', 'outside_scope')),
    add column billing_address jsonb,
    -- Reverse charge and intra-EU supplies name the buyer's VAT id (BR-AE-02, BR-IC-02).
    add constraint customers_vat_id_for_eu_b2b
        check (vat_treatment not in ('reverse_charge', 'intra_eu_supply') or vat_id is not null);

alter table crm.contracts
    add column billing_increment_minutes integer not null default 15
        constraint contracts_billing_increment check (billing_increment_minutes between 1 and 60),
    add column billing_day integer not null default 1
        constraint contracts_billing_day check (billing_day between 1 and 28);
