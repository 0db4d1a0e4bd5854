drop function if exists assets.watched_tenants();
drop table if exists assets.eol_cycles, assets.eol_products, assets.eol_snapshot,
    assets.eol_mappings, assets.watch_notices, assets.key_reveals, assets.license_assignments,
    assets.licenses, assets.inventory_links, assets.assets, assets.asset_types, assets.settings,
    assets.sites, assets.contacts, assets.customers;
