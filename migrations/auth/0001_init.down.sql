drop table if exists auth.idempotency_keys, auth.audit_events, auth.refresh_tokens, auth.authorization_codes,
    auth.api_keys, auth.client_secrets, auth.service_accounts, auth.roles, auth.recovery_codes, auth.users,
    auth.signing_keys, auth.tenants;
drop function if exists auth.current_tenant();
