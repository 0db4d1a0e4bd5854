drop table if exists gateway.audit_log; drop function if exists gateway.current_tenant();
