drop function if exists tickets.outbox_claim(integer), tickets.outbox_mark_sent(uuid[]), tickets.outbox_stats(), tickets.sla_overdue(timestamptz);
drop table if exists tickets.inbox, tickets.outbox, tickets.idempotency_keys, tickets.time_entries, tickets.comments,
    tickets.tickets, tickets.contracts, tickets.customers, tickets.number_sequences;
drop function if exists tickets.current_tenant();
