-- The contact_id and asset_id filters of the ticket list (and its per=,
-- the first tickets of each of many contacts or assets): a contact's or an
-- asset's tickets in the list's default order are one range of an index.
-- A contact or an asset has few tickets, so the other sorts sort them.

create index tickets_contact_created on tickets.tickets (tenant_id, contact_id, created_at, id)
    where contact_id is not null;
create index tickets_asset_created on tickets.tickets (tenant_id, asset_id, created_at, id)
    where asset_id is not null;
