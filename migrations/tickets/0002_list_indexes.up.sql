-- The indexes the lists read (libs/psa-http/src/keyset.rs): a page is one
-- range of an index on (tenant_id, sort field, id), so it costs the same in
-- a tenant of a thousand tickets and in one of a million. Every sort a list
-- offers has one (`number` is unique: its constraint's index serves it);
-- every filter whose values can be rare in a tenant (a status, a customer,
-- an assignee, a queue; status with priority) leads one per sort. A filter
-- whose values are common (priority alone, billable) is read along the
-- sort's index, a few rows per match.

create index tickets_created on tickets.tickets (tenant_id, created_at, id);
-- (tenant_id, updated_at, id): tickets_updated, in 0001.

create index tickets_status_created on tickets.tickets (tenant_id, status, created_at, id);
create index tickets_status_updated on tickets.tickets (tenant_id, status, updated_at, id);
create index tickets_status_number on tickets.tickets (tenant_id, status, number);

create index tickets_status_priority_created on tickets.tickets (tenant_id, status, priority, created_at, id);
create index tickets_status_priority_updated on tickets.tickets (tenant_id, status, priority, updated_at, id);
create index tickets_status_priority_number on tickets.tickets (tenant_id, status, priority, number);

create index tickets_customer_created on tickets.tickets (tenant_id, customer_id, created_at, id);
create index tickets_customer_updated on tickets.tickets (tenant_id, customer_id, updated_at, id);
create index tickets_customer_number on tickets.tickets (tenant_id, customer_id, number);

create index tickets_assignee_created on tickets.tickets (tenant_id, assignee_id, created_at, id)
    where assignee_id is not null;
create index tickets_assignee_updated on tickets.tickets (tenant_id, assignee_id, updated_at, id)
    where assignee_id is not null;
create index tickets_assignee_number on tickets.tickets (tenant_id, assignee_id, number)
    where assignee_id is not null;

create index tickets_queue_created on tickets.tickets (tenant_id, queue, created_at, id)
    where queue is not null;
create index tickets_queue_updated on tickets.tickets (tenant_id, queue, updated_at, id)
    where queue is not null;
create index tickets_queue_number on tickets.tickets (tenant_id, queue, number)
    where queue is not null;

-- A ticket's comments, in booking order (id); time entries in booking order
-- or order of change, all, a ticket's or a user's.
create index comments_ticket on tickets.comments (tenant_id, ticket_id, id);
create index time_entries_updated on tickets.time_entries (tenant_id, updated_at, id);
create index time_entries_ticket on tickets.time_entries (tenant_id, ticket_id, id);
create index time_entries_ticket_updated on tickets.time_entries (tenant_id, ticket_id, updated_at, id);
create index time_entries_user on tickets.time_entries (tenant_id, user_id, id);
create index time_entries_user_updated on tickets.time_entries (tenant_id, user_id, updated_at, id);

-- The SLA watch (sla_overdue) looks for running clocks past due, across
-- tenants, every few seconds: only tickets with a clock running are in
-- these, so the watch does not read a million closed tickets each time.
create index tickets_response_running on tickets.tickets (response_due_at)
    where status not in ('waiting', 'resolved', 'closed') and response_due_at is not null
      and first_response_at is null and response_breached_at is null;
create index tickets_resolution_running on tickets.tickets (resolution_due_at)
    where status not in ('waiting', 'resolved', 'closed') and resolution_due_at is not null
      and resolution_breached_at is null;
