drop function if exists crm.outbox_claim(integer), crm.outbox_mark_sent(uuid[]), crm.outbox_stats();
