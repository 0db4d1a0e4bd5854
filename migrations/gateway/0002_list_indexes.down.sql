drop index gateway.audit_log_created;
