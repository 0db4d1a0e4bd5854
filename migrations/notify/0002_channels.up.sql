-- Notification channels (e-mail over SMTP, Microsoft Teams, SMS), the
-- tenant's rules, users' opt-outs, the messages rules make (the channel
-- dispatcher's work queue) with their attempts, and what recipients are
-- resolved from: projections of users (auth) and contacts (CRM); a ticket's
-- assignee and contact come with its events.

create table notify.channels (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    name text not null,
    kind text not null check (kind in ('email', 'teams', 'sms')),
    -- What the kind needs, without secrets (host, port, sender, URL, ...).
    settings jsonb not null,
    -- The SMTP password or the SMS provider's token, sealed; never returned.
    secret bytea,
    enabled boolean not null default true,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

create table notify.rules (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    name text not null,
    event_types text[] not null,
    channel_id uuid not null,
    recipients jsonb not null default '[]',
    -- The tenant's own templates (MiniJinja); null: the built-in ones.
    subject_template text,
    text_template text,
    html_template text,
    enabled boolean not null default true,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, channel_id) references notify.channels (tenant_id, id)
);
create index rules_by_channel on notify.rules (tenant_id, channel_id);

-- A user's opt-outs: event types (or patterns) they are not told about.
create table notify.preferences (
    tenant_id uuid not null default notify.current_tenant(),
    user_id uuid not null,
    muted_event_types text[] not null default '{}',
    version bigint not null default 1,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
);

create table notify.users (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    email text not null,
    name text not null,
    roles text[] not null,
    active boolean not null,
    version bigint not null,
    primary key (tenant_id, id)
);
create index users_by_role on notify.users using gin (roles);

create table notify.contacts (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    name text not null,
    email text,
    phone text,
    deleted boolean not null default false,
    version bigint not null,
    primary key (tenant_id, id)
);

-- One message of a rule for one recipient: pending until sent or dead;
-- 'held' when the recipient's cap was reached (folded into a digest later:
-- 'digested').
create table notify.messages (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    -- Null for a digest.
    rule_id uuid,
    channel_id uuid not null,
    event_id uuid not null,
    event_type text not null,
    -- An e-mail address, a phone number, or 'teams' for a Teams channel.
    recipient text not null,
    user_id uuid,
    subject text not null,
    text_body text not null,
    html_body text,
    state text not null default 'pending'
        check (state in ('pending', 'sent', 'dead', 'held', 'digested')),
    round_attempts integer not null default 0,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    leased_until timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz,
    primary key (tenant_id, id),
    unique (tenant_id, channel_id, event_id, recipient),
    foreign key (tenant_id, channel_id) references notify.channels (tenant_id, id) on delete cascade
);
create index messages_due on notify.messages (next_attempt_at) where state = 'pending';
create index messages_recent on notify.messages (tenant_id, channel_id, recipient, created_at);
create index messages_held on notify.messages (tenant_id, channel_id, recipient, created_at) where state = 'held';
create index messages_by_channel on notify.messages (tenant_id, channel_id, created_at, id);

create table notify.message_attempts (
    tenant_id uuid not null default notify.current_tenant(),
    id uuid not null,
    message_id uuid not null,
    channel_id uuid not null,
    outcome text not null check (outcome in ('delivered', 'failed', 'error')),
    -- The server's answer (SMTP reply, HTTP status and body), first 20 kB.
    detail text,
    duration_ms integer not null,
    error text,
    attempted_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, message_id) references notify.messages (tenant_id, id) on delete cascade
);
create index message_attempts_by_message on notify.message_attempts (tenant_id, message_id, attempted_at);

call notify.isolate_by_tenant('channels', 'rules', 'preferences', 'users', 'contacts',
    'messages', 'message_attempts');
call notify.delete_after('messages', 'finished_at', '30 days');
call notify.delete_after('message_attempts', 'attempted_at', '30 days');

create function notify.wake_mailer() returns trigger
    language plpgsql set search_path = pg_catalog, notify
    as $$ begin perform pg_notify('notify_messages', ''); return null; end $$;
create trigger messages_wake after insert or update of next_attempt_at on notify.messages
    for each statement execute function notify.wake_mailer();

-- The channel dispatcher serves every tenant: due messages of enabled
-- channels, leased for `lease`, SKIP LOCKED across processes.
create function notify.claim_messages(batch integer, lease interval)
    returns table (tenant_id uuid, id uuid)
    language sql security definer set search_path = pg_catalog, notify
    as $$
    with due as (
        select m.tenant_id, m.id from notify.messages m
        join notify.channels c on c.tenant_id = m.tenant_id and c.id = m.channel_id and c.enabled
        where m.state = 'pending' and m.next_attempt_at <= now()
          and (m.leased_until is null or m.leased_until <= now())
        order by m.next_attempt_at
        limit batch
        for update of m skip locked
    )
    update notify.messages m set leased_until = now() + lease
    from due where m.tenant_id = due.tenant_id and m.id = due.id
    returning m.tenant_id, m.id
    $$;

create function notify.next_message_due() returns timestamptz
    language sql stable security definer set search_path = pg_catalog, notify
    as $$
    select min(greatest(m.next_attempt_at, coalesce(m.leased_until, m.next_attempt_at)))
    from notify.messages m
    join notify.channels c on c.tenant_id = m.tenant_id and c.id = m.channel_id and c.enabled
    where m.state = 'pending'
    $$;

-- Recipients (of every tenant) with messages held back by their cap.
create function notify.held_recipients()
    returns table (tenant_id uuid, channel_id uuid, recipient text)
    language sql stable security definer set search_path = pg_catalog, notify
    as $$ select distinct tenant_id, channel_id, recipient from notify.messages where state = 'held' $$;

revoke all on function notify.claim_messages(integer, interval), notify.next_message_due(),
    notify.held_recipients() from public;
grant execute on function notify.claim_messages(integer, interval), notify.next_message_due(),
    notify.held_recipients() to psa_notify;
