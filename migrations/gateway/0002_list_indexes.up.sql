-- The audit log's list (libs/psa-http/src/keyset.rs): by id (the primary
-- key), by time, and written since a time (`updated_since`, in time order):
-- each one range of an index, however long the tenant's log.
create index audit_log_created on gateway.audit_log (tenant_id, created_at, id);
