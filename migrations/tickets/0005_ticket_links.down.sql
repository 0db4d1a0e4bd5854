drop index if exists tickets.tickets_contact_created, tickets.tickets_asset_created;
