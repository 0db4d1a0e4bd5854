-- Auth: tenants (platform level), users, roles, MFA, service accounts, API keys,
-- OAuth codes and refresh tokens, signing keys (platform level), audit events.
-- Tenant tables: tenant_id defaulted from the transaction's tenant, RLS enabled,
-- forced, one policy matching only the current tenant. current_tenant(),
-- isolate_by_tenant(…), idempotency_keys and housekeeping() (with its
-- _psa_retention) come from the platform template
-- (libs/psa-db/sql/platform.sql), applied before this.

-- Platform level: who the tenants are. No tenant_id: a tenant is its own row.
create table auth.tenants (
    id uuid primary key,
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name text not null,
    status text not null check (status in ('active', 'suspended')),
    is_platform boolean not null default false,
    mfa_required boolean not null default false,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- Token signing keys, private parts encrypted with the master key.
create table auth.signing_keys (
    kid text primary key,
    alg text not null,
    public_jwk jsonb not null,
    private_key_enc bytea not null,
    created_at timestamptz not null default now(),
    -- published from created_at; signs from activates_at until retired_at;
    -- published until expires_at (after its last token has expired)
    activates_at timestamptz not null,
    retired_at timestamptz,
    expires_at timestamptz
);

create table auth.users (
    tenant_id uuid not null default auth.current_tenant() references auth.tenants (id),
    id uuid not null,
    email text not null,
    name text not null,
    status text not null check (status in ('active', 'suspended')),
    roles text[] not null default '{}',
    password_hash text,
    failed_logins integer not null default 0,
    next_login_at timestamptz,
    totp_secret_enc bytea,
    totp_confirmed boolean not null default false,
    totp_last_step bigint,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint users_email_unique unique (tenant_id, email)
);

create table auth.recovery_codes (
    tenant_id uuid not null default auth.current_tenant(),
    user_id uuid not null,
    code_hash text not null,
    used_at timestamptz,
    primary key (tenant_id, user_id, code_hash),
    foreign key (tenant_id, user_id) references auth.users (tenant_id, id) on delete cascade
);

create table auth.roles (
    tenant_id uuid not null default auth.current_tenant(),
    id uuid not null,
    name text not null,
    description text,
    permissions text[] not null,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint roles_name_unique unique (tenant_id, name)
);

create table auth.service_accounts (
    tenant_id uuid not null default auth.current_tenant(),
    id uuid not null,
    name text not null,
    client_id text not null unique,
    permissions text[] not null,
    status text not null check (status in ('active', 'disabled')),
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

create table auth.client_secrets (
    tenant_id uuid not null default auth.current_tenant(),
    id uuid not null,
    service_account_id uuid not null,
    secret_hash text not null,
    created_at timestamptz not null default now(),
    -- set on rotation: the old secret keeps working until then
    expires_at timestamptz,
    primary key (tenant_id, id),
    foreign key (tenant_id, service_account_id) references auth.service_accounts (tenant_id, id) on delete cascade
);

create table auth.api_keys (
    tenant_id uuid not null default auth.current_tenant(),
    id uuid not null,
    name text not null,
    key_hash text not null,
    permissions text[] not null,
    created_by text not null,
    rate_limit_per_minute integer,
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

create table auth.authorization_codes (
    tenant_id uuid not null default auth.current_tenant(),
    code_hash text not null,
    user_id uuid not null,
    client_id text not null,
    redirect_uri text not null,
    code_challenge text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    primary key (tenant_id, code_hash)
);

create table auth.refresh_tokens (
    tenant_id uuid not null default auth.current_tenant(),
    token_hash text not null,
    family_id uuid not null,
    user_id uuid not null,
    client_id text not null,
    expires_at timestamptz not null,
    -- set when exchanged for a new one; presenting it again revokes the family
    rotated_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (tenant_id, token_hash)
);
create index refresh_tokens_family on auth.refresh_tokens (tenant_id, family_id);

create table auth.audit_events (
    tenant_id uuid not null default auth.current_tenant(),
    id uuid not null,
    action text not null,
    actor text not null,
    target text,
    outcome text not null check (outcome in ('success', 'failure')),
    ip text,
    detail jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

call auth.isolate_by_tenant('users', 'recovery_codes', 'roles', 'service_accounts', 'client_secrets', 'api_keys',
    'authorization_codes', 'refresh_tokens', 'audit_events');

-- For housekeeping: authorization codes and refresh tokens are useless a
-- day after they expire (an expired token is refused whether its row
-- exists or not).
call auth.delete_after('authorization_codes', 'expires_at', '1 day');
call auth.delete_after('refresh_tokens', 'expires_at', '1 day');
