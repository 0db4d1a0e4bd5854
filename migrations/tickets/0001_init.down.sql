-- The module's own objects; the platform template's stay (they go with the schema).
drop function if exists tickets.sla_overdue(timestamptz);
drop table if exists tickets.time_entries, tickets.comments, tickets.tickets, tickets.contracts, tickets.customers;
