alter table tickets.time_entries drop column billing_version;
