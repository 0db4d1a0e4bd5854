-- Billing's state of a time entry, from billing's `billable_item.updated`
-- events: `billed_at` (set while billing has it invoiced) freezes the entry,
-- and `billing_version` is the version of the last state applied, so a state
-- that arrives after a newer one is ignored. Billing's versions start at 1.
alter table tickets.time_entries add column billing_version bigint not null default 0;
