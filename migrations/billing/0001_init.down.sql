drop view if exists billing.billable_items;
drop function if exists billing.stalled_runs(timestamptz);
drop table if exists billing.contract_charges, billing.invoice_items, billing.invoice_lines,
    billing.invoices, billing.invoice_run_customers, billing.invoice_runs, billing.number_counters,
    billing.settings, billing.items, billing.tickets, billing.contracts, billing.customers;
drop function if exists billing.refuse_released_part();
drop function if exists billing.refuse_released_invoice();
