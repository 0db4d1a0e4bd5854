-- The module's own objects; the platform template's stay (they go with the schema).
drop table if exists gateway.audit_log;
