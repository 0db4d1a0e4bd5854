-- The module's own objects; the platform template's stay (they go with the schema).
delete from auth._psa_retention where table_name in ('authorization_codes', 'refresh_tokens');
drop table if exists auth.audit_events, auth.refresh_tokens, auth.authorization_codes,
    auth.api_keys, auth.client_secrets, auth.service_accounts, auth.roles, auth.recovery_codes, auth.users,
    auth.signing_keys, auth.tenants;
