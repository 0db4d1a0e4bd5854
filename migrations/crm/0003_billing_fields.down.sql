alter table crm.contracts
    drop column billing_day,
    drop column billing_increment_minutes;

alter table crm.customers
    drop constraint customers_vat_id_for_eu_b2b,
    drop column billing_address,
    drop column vat_treatment,
    drop column einvoice_format,
    drop column invoice_email,
    drop column payment_terms_days,
    drop column leitweg_id,
    drop column tax_number,
    drop column vat_id;
