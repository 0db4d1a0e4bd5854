-- Notify: webhook subscriptions, their deliveries (one row per event and
-- subscription, the work queue of the dispatcher) and every attempt. RLS on
-- every tenant table; current_tenant(), isolate_by_tenant(…), delete_after(…),
-- the outbox, the inbox, idempotency_keys and housekeeping() come from the
-- platform template (libs/psa-db/sql/platform.sql), applied before this.

create table notify.webhooks (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    url text not null,
    event_types text[] not null,
    enabled boolean not null default true,
    description text,
    -- Sealed with the deployment's master key; never returned after creation.
    secret bytea not null,
    -- The secret before the last rotation, signing beside the new one until
    -- previous_until.
    previous_secret bytea,
    previous_until timestamptz,
    disabled_reason text,
    -- Since when every delivery to the endpoint has failed (null: the last one succeeded).
    failing_since timestamptz,
    -- A new subscription's catch-up from the archive: events from this time
    -- on; null once caught up (or when none was asked for).
    catch_up_from timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create index webhooks_enabled on notify.webhooks (tenant_id) where enabled;

-- One event for one subscription: pending until delivered or dead.
create table notify.deliveries (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    webhook_id uuid not null,
    event_id uuid not null,
    event_type text not null,
    -- The body as delivered: {"type", "timestamp", "data"}, kept byte for
    -- byte so every attempt signs the same payload.
    body text not null,
    state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
    -- Attempts in the current round (a replay starts a new round) and in all.
    round_attempts integer not null default 0,
    attempts integer not null default 0,
    -- Replays and recoveries of it so far (their attempts are marked).
    replays integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- While a dispatcher holds it; a crashed one's lease runs out.
    leased_until timestamptz,
    last_status integer,
    last_error text,
    event_time timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz,
    primary key (tenant_id, id),
    unique (tenant_id, webhook_id, event_id),
    foreign key (tenant_id, webhook_id) references notify.webhooks (tenant_id, id) on delete cascade
);
create index deliveries_due on notify.deliveries (next_attempt_at) where state = 'pending';
create index deliveries_by_webhook on notify.deliveries (tenant_id, webhook_id, created_at, id);
create index deliveries_dead on notify.deliveries (tenant_id, finished_at, id) where state = 'dead';

create table notify.attempts (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    delivery_id uuid not null,
    webhook_id uuid not null,
    event_id uuid not null,
    event_type text not null,
    -- 'delivered' (2xx), 'failed' (any other answer) or 'error' (no answer:
    -- timeout, refused connection, forbidden address).
    outcome text not null check (outcome in ('delivered', 'failed', 'error')),
    status_code integer,
    duration_ms integer not null,
    error text,
    -- The first 20 kB of the answer.
    response_body text,
    replay boolean not null default false,
    attempted_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, delivery_id) references notify.deliveries (tenant_id, id) on delete cascade
);
create index attempts_by_webhook on notify.attempts (tenant_id, webhook_id, attempted_at, id);
create index attempts_by_delivery on notify.attempts (tenant_id, delivery_id, attempted_at);

call notify.isolate_by_tenant('webhooks', 'deliveries', 'attempts');
call notify.delete_after('deliveries', 'finished_at', '30 days');
call notify.delete_after('attempts', 'attempted_at', '30 days');

-- The dispatcher is woken when a delivery becomes due now.
create function notify.wake_dispatcher() returns trigger
    language plpgsql set search_path = pg_catalog, notify
    as $$ begin perform pg_notify('notify_deliveries', ''); return null; end $$;
create trigger deliveries_wake after insert or update of next_attempt_at on notify.deliveries
    for each statement execute function notify.wake_dispatcher();

-- The dispatcher serves every tenant: it takes up to `batch` due deliveries,
-- at most `per_endpoint` in flight per subscription (leases count), leasing
-- them for `lease`. SKIP LOCKED: dispatchers of other processes take others.
create function notify.claim_deliveries(batch integer, per_endpoint integer, lease interval)
    returns table (tenant_id uuid, id uuid, webhook_id uuid)
    language sql security definer set search_path = pg_catalog, notify
    as $$
    with busy as (
        select d.webhook_id, count(*) as n from notify.deliveries d
        where d.state = 'pending' and d.leased_until > now()
        group by d.webhook_id
    ), due as (
        select d.tenant_id, d.id, d.webhook_id,
               row_number() over (partition by d.webhook_id order by d.next_attempt_at, d.id) as rank
        from notify.deliveries d
        join notify.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id and w.enabled
        where d.state = 'pending' and d.next_attempt_at <= now()
          and (d.leased_until is null or d.leased_until <= now())
    ), chosen as (
        select due.tenant_id, due.id from due left join busy on busy.webhook_id = due.webhook_id
        where due.rank <= per_endpoint - coalesce(busy.n, 0)
        order by due.rank
        limit batch
    ), locked as (
        select d.tenant_id, d.id from notify.deliveries d
        join chosen c on c.tenant_id = d.tenant_id and c.id = d.id
        where d.state = 'pending' and (d.leased_until is null or d.leased_until <= now())
        for update of d skip locked
    )
    update notify.deliveries d set leased_until = now() + lease
    from locked where d.tenant_id = locked.tenant_id and d.id = locked.id
    returning d.tenant_id, d.id, d.webhook_id
    $$;

-- When the next delivery of an enabled subscription falls due (for the
-- dispatcher's sleep); a leased one not before its lease ends.
create function notify.next_due() returns timestamptz
    language sql stable security definer set search_path = pg_catalog, notify
    as $$
    select min(greatest(d.next_attempt_at, coalesce(d.leased_until, d.next_attempt_at)))
    from notify.deliveries d
    join notify.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id and w.enabled
    where d.state = 'pending'
    $$;

-- Subscriptions whose every delivery has failed since before `cutoff`.
create function notify.failing_webhooks(cutoff timestamptz)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = pg_catalog, notify
    as $$ select tenant_id, id from notify.webhooks where enabled and failing_since < cutoff $$;

-- Subscriptions still catching up from the archive.
create function notify.pending_catch_ups()
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = pg_catalog, notify
    as $$ select tenant_id, id from notify.webhooks where enabled and catch_up_from is not null $$;

revoke all on function notify.claim_deliveries(integer, integer, interval), notify.next_due(),
    notify.failing_webhooks(timestamptz), notify.pending_catch_ups() from public;
grant execute on function notify.claim_deliveries(integer, integer, interval), notify.next_due(),
    notify.failing_webhooks(timestamptz), notify.pending_catch_ups() to psa_notify;
