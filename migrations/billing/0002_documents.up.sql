-- E-invoices and the DATEV export.
--
-- A released document's files (the CII XML, the ZUGFeRD PDF), rendered in
-- the releasing transaction from the frozen data and kept with their
-- SHA-256: every download returns these bytes (GoBD). Written once, for a
-- released document only, never changed or removed, whoever asks.
create table billing.documents (
    tenant_id uuid not null default billing.current_tenant(),
    invoice_id uuid not null,
    kind text not null check (kind in ('xml', 'pdf')),
    profile text not null check (profile in ('xrechnung', 'en16931')),
    media_type text not null,
    file_name text not null,
    content bytea not null,
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size integer not null check (size = octet_length(content)),
    created_at timestamptz not null default now(),
    primary key (tenant_id, invoice_id, kind),
    foreign key (tenant_id, invoice_id) references billing.invoices (tenant_id, id)
);

call billing.isolate_by_tenant('documents');

create function billing.documents_are_final() returns trigger
    language plpgsql set search_path = pg_catalog, billing
    as $$
begin
    if tg_op <> 'INSERT' then
        raise exception 'the files of invoice % are final', old.invoice_id
            using errcode = 'restrict_violation';
    end if;
    if not exists (select 1 from billing.invoices i
                    where i.tenant_id = new.tenant_id and i.id = new.invoice_id and i.status = 'released') then
        raise exception 'invoice % is not released: it has no files', new.invoice_id
            using errcode = 'restrict_violation';
    end if;
    return new;
end $$;

create trigger documents_are_final before insert or update or delete on billing.documents
    for each row execute function billing.documents_are_final();

-- DATEV: the customer's debtor account, the tax advisor's numbers and the
-- fiscal year the export books in.
alter table billing.customers add column debtor_account text;

alter table billing.settings
    add column datev_consultant_number integer check (datev_consultant_number between 1001 and 9999999),
    add column datev_client_number integer check (datev_client_number between 1 and 99999),
    add column fiscal_year_start_month integer not null default 1 check (fiscal_year_start_month between 1 and 12),
    add column account_length integer not null default 4 check (account_length between 4 and 8);

-- Released documents whose files are still to be rendered: written by the
-- release, removed by the transaction that keeps the files and records
-- invoice.released. A process that ends in between leaves the row, and
-- the render worker finishes it.
create table billing.pending_renders (
    tenant_id uuid not null default billing.current_tenant(),
    invoice_id uuid not null,
    released_at timestamptz not null default now(),
    primary key (tenant_id, invoice_id),
    foreign key (tenant_id, invoice_id) references billing.invoices (tenant_id, id)
);
create index pending_renders_released on billing.pending_renders (released_at);

call billing.isolate_by_tenant('pending_renders');

-- The render worker serves every tenant: the releases left unfinished.
create function billing.renders_due(older_than timestamptz)
    returns table (tenant_id uuid, invoice_id uuid)
    language sql security definer set search_path = pg_catalog, billing
    as $$ select tenant_id, invoice_id from billing.pending_renders
          where released_at < older_than order by released_at limit 100 $$;

revoke all on function billing.renders_due(timestamptz) from public;
grant execute on function billing.renders_due(timestamptz) to psa_billing;
