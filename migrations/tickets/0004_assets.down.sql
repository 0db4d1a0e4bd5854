drop table if exists tickets.asset_eol_tickets, tickets.settings, tickets.assets;
