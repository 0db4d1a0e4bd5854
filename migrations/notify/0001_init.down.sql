drop function if exists notify.claim_deliveries(integer, integer, interval), notify.next_due(),
    notify.failing_webhooks(timestamptz), notify.pending_catch_ups();
drop trigger if exists deliveries_wake on notify.deliveries;
drop function if exists notify.wake_dispatcher();
drop table if exists notify.attempts, notify.deliveries, notify.webhooks;
