-- Billing: projections of what it bills (CRM customers and contracts,
-- tickets and their time entries), billable items and their approval,
-- seller settings, invoice runs, invoices and credit notes with gap-free
-- numbers. RLS on every tenant table. current_tenant(), isolate_by_tenant(…),
-- the outbox, the inbox and idempotency_keys come from the platform
-- template (libs/psa-db/sql/platform.sql), applied before this.
--
-- GoBD: a released document never changes. The API refuses it (409); the
-- triggers at the end refuse it to every role, the module's own included.

-- What billing knows of CRM and tickets, from their events, so that invoice
-- runs work while those modules are down and are reproducible.
create table billing.customers (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    customer_number text not null,
    name text not null,
    address jsonb,
    billing_address jsonb,
    vat_id text,
    tax_number text,
    leitweg_id text,
    payment_terms_days integer,
    invoice_email text,
    einvoice_format text not null,
    vat_treatment text not null,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

create table billing.contracts (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    customer_id uuid not null,
    name text not null,
    type text not null,
    status text not null,
    currency text not null,
    hourly_rate numeric(14, 2),
    monthly_fee numeric(14, 2),
    included_hours numeric(10, 2),
    start_date date not null,
    end_date date,
    billing_increment_minutes integer not null,
    billing_day integer not null,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);
create index contracts_customer on billing.contracts (tenant_id, customer_id);

create table billing.tickets (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    number text not null,
    title text not null,
    customer_id uuid not null,
    contract_id uuid,
    version bigint not null,
    primary key (tenant_id, id)
);

-- One row per time entry tickets told of; the billable ones that are not
-- deleted are the billable items. `entry_version` orders the time entry's
-- events, `version` counts billing's own changes (approval, invoicing).
create table billing.items (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    ticket_id uuid not null,
    user_id text not null,
    started_at timestamptz not null,
    work_date date not null,
    minutes integer not null check (minutes > 0),
    description text,
    work_type text,
    billable boolean not null,
    deleted boolean not null default false,
    status text not null default 'pending'
        check (status in ('pending', 'approved', 'invoiced', 'written_off')),
    approved_by text,
    approved_at timestamptz,
    invoice_id uuid,
    entry_version bigint not null,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    check ((status = 'invoiced') = (invoice_id is not null))
);
create index items_status on billing.items (tenant_id, status, work_date, id) where billable and not deleted;
create index items_ticket on billing.items (tenant_id, ticket_id);
create index items_updated on billing.items (tenant_id, updated_at, id);

-- The seller: one row per tenant.
create table billing.settings (
    tenant_id uuid not null default billing.current_tenant() primary key,
    legal_name text,
    address jsonb,
    vat_id text,
    tax_number text,
    iban text,
    bic text,
    bank_name text,
    contact_name text,
    contact_phone text,
    contact_email text,
    electronic_address text,
    default_payment_terms_days integer not null,
    invoice_number_format text not null,
    credit_note_number_format text not null,
    default_vat_rate numeric(5, 2) not null,
    chart_of_accounts text not null check (chart_of_accounts in ('skr03', 'skr04')),
    accounts jsonb not null default '{}',
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Gap-free numbers: advanced in the releasing transaction as its last step,
-- so its row lock orders the releases of one series and a rollback gives
-- the number back. Deliberately not a sequence (sequences have gaps).
create table billing.number_counters (
    tenant_id uuid not null default billing.current_tenant(),
    series text not null check (series in ('invoice', 'credit_note')),
    period text not null,
    last bigint not null check (last > 0),
    primary key (tenant_id, series, period)
);

create table billing.invoice_runs (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    period_from date not null,
    period_to date not null check (period_to >= period_from),
    customer_ids uuid[],
    status text not null check (status in ('running', 'completed', 'failed')),
    created_by text not null,
    heartbeat_at timestamptz not null default now(),
    finished_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create index invoice_runs_created on billing.invoice_runs (tenant_id, id);

-- The customers a run goes through, each done in its own transaction.
create table billing.invoice_run_customers (
    tenant_id uuid not null default billing.current_tenant(),
    run_id uuid not null,
    customer_id uuid not null,
    status text not null default 'pending' check (status in ('pending', 'done', 'failed')),
    invoices integer not null default 0,
    error text,
    primary key (tenant_id, run_id, customer_id),
    foreign key (tenant_id, run_id) references billing.invoice_runs (tenant_id, id) on delete cascade
);

create table billing.invoices (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    type text not null check (type in ('invoice', 'credit_note')),
    status text not null check (status in ('draft', 'released')),
    customer_id uuid not null,
    currency text not null,
    number text,
    issue_date date,
    due_date date,
    period_from date,
    period_to date,
    notes text,
    buyer jsonb not null,
    seller jsonb,
    preceding_invoice_id uuid,
    preceding_number text,
    preceding_issue_date date,
    run_id uuid,
    net_total numeric(14, 2) not null default 0,
    tax_total numeric(14, 2) not null default 0,
    gross_total numeric(14, 2) not null default 0,
    released_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, number),
    check ((status = 'released') = (number is not null and issue_date is not null and seller is not null)),
    check ((type = 'credit_note') = (preceding_invoice_id is not null)),
    foreign key (tenant_id, preceding_invoice_id) references billing.invoices (tenant_id, id)
);
create index invoices_id on billing.invoices (tenant_id, id) include (status, customer_id);
create index invoices_customer on billing.invoices (tenant_id, customer_id, id);
create index invoices_issued on billing.invoices (tenant_id, issue_date, id) where status = 'released';
create index invoices_updated on billing.invoices (tenant_id, updated_at, id);
create index invoices_run on billing.invoices (tenant_id, run_id) where run_id is not null;
create index invoices_preceding on billing.invoices (tenant_id, preceding_invoice_id) where preceding_invoice_id is not null;

create table billing.invoice_lines (
    tenant_id uuid not null default billing.current_tenant(),
    id uuid not null,
    invoice_id uuid not null,
    position integer not null,
    kind text not null check (kind in ('fee', 'time', 'overage', 'block', 'manual', 'credit')),
    description text not null,
    quantity numeric(14, 4) not null,
    unit_code text not null,
    unit_price numeric(14, 4) not null,
    net_amount numeric(14, 2) not null,
    vat_category text not null check (vat_category in ('S', 'Z', 'E', 'AE', 'K', 'G', 'O')),
    vat_rate numeric(5, 2) not null check (vat_rate >= 0 and vat_rate < 100),
    exemption_reason text,
    contract_id uuid,
    period_from date,
    period_to date,
    credited_line_id uuid,
    primary key (tenant_id, id),
    unique (tenant_id, invoice_id, position),
    foreign key (tenant_id, invoice_id) references billing.invoices (tenant_id, id) on delete cascade,
    foreign key (tenant_id, credited_line_id) references billing.invoice_lines (tenant_id, id)
);
create index invoice_lines_credited on billing.invoice_lines (tenant_id, credited_line_id) where credited_line_id is not null;

-- An item is invoiced at most once: the primary key says so, not a check in code.
create table billing.invoice_items (
    tenant_id uuid not null default billing.current_tenant(),
    item_id uuid not null,
    invoice_id uuid not null,
    line_id uuid,
    contract_id uuid,
    billed_minutes integer not null,
    -- The time entry's version when it was billed: a later edit shows.
    entry_version bigint not null,
    primary key (tenant_id, item_id),
    foreign key (tenant_id, invoice_id) references billing.invoices (tenant_id, id) on delete cascade,
    foreign key (tenant_id, line_id) references billing.invoice_lines (tenant_id, id) on delete cascade
);
create index invoice_items_invoice on billing.invoice_items (tenant_id, invoice_id);
create index invoice_items_contract on billing.invoice_items (tenant_id, contract_id);

-- A contract's fee (per month) or prepaid block is charged at most once.
create table billing.contract_charges (
    tenant_id uuid not null default billing.current_tenant(),
    contract_id uuid not null,
    kind text not null check (kind in ('fee', 'block')),
    period_start date not null,
    invoice_id uuid not null,
    line_id uuid not null,
    primary key (tenant_id, contract_id, kind, period_start),
    foreign key (tenant_id, invoice_id) references billing.invoices (tenant_id, id) on delete cascade,
    foreign key (tenant_id, line_id) references billing.invoice_lines (tenant_id, id) on delete cascade
);

call billing.isolate_by_tenant('customers', 'contracts', 'tickets', 'items', 'settings',
    'number_counters', 'invoice_runs', 'invoice_run_customers', 'invoices', 'invoice_lines',
    'invoice_items', 'contract_charges');

-- Released documents never change (GoBD): no UPDATE or DELETE of a released
-- invoice, and no change to the lines, items or charges of one, whoever asks.
create function billing.refuse_released_invoice() returns trigger
    language plpgsql set search_path = pg_catalog, billing
    as $$
begin
    if old.status = 'released' then
        raise exception 'invoice % is released and cannot change', old.id
            using errcode = 'restrict_violation';
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end $$;

create trigger invoices_released_are_final before update or delete on billing.invoices
    for each row execute function billing.refuse_released_invoice();

create function billing.refuse_released_part() returns trigger
    language plpgsql set search_path = pg_catalog, billing
    as $$
declare
    inv uuid;
    tenant uuid;
begin
    foreach inv in array array[case when tg_op <> 'INSERT' then old.invoice_id end,
                               case when tg_op <> 'DELETE' then new.invoice_id end] loop
        tenant := case when tg_op = 'DELETE' then old.tenant_id else new.tenant_id end;
        if inv is not null and exists (select 1 from billing.invoices i
                                        where i.tenant_id = tenant and i.id = inv and i.status = 'released') then
            raise exception 'invoice % is released; its % cannot change', inv, tg_table_name
                using errcode = 'restrict_violation';
        end if;
    end loop;
    return case when tg_op = 'DELETE' then old else new end;
end $$;

create trigger invoice_lines_released_are_final before insert or update or delete on billing.invoice_lines
    for each row execute function billing.refuse_released_part();
create trigger invoice_items_released_are_final before insert or update or delete on billing.invoice_items
    for each row execute function billing.refuse_released_part();
create trigger contract_charges_released_are_final before insert or update or delete on billing.contract_charges
    for each row execute function billing.refuse_released_part();

-- Invoice runs serve every tenant after a restart: the runs whose worker
-- stopped beating (the process ended while it ran).
create function billing.stalled_runs(older_than timestamptz)
    returns table (tenant_id uuid, id uuid)
    language sql security definer set search_path = pg_catalog, billing
    as $$ select tenant_id, id from billing.invoice_runs
          where status = 'running' and heartbeat_at < older_than
          order by heartbeat_at limit 100 $$;

revoke all on function billing.stalled_runs(timestamptz) from public;
grant execute on function billing.stalled_runs(timestamptz) to psa_billing;

-- Billable items as the API shows them: the billable time entries that were
-- not deleted, with their ticket's customer and contract. Read with the
-- caller's rights, so the tables' row-level security applies.
create view billing.billable_items with (security_invoker = true) as
    select i.id, i.ticket_id, t.customer_id, t.contract_id, i.user_id, i.started_at, i.work_date,
           i.minutes, i.description, i.work_type, i.status, i.approved_by, i.approved_at,
           i.invoice_id, i.version, i.created_at, i.updated_at
    from billing.items i
    left join billing.tickets t on t.tenant_id = i.tenant_id and t.id = i.ticket_id
    where i.billable and not i.deleted;
