drop index if exists assets.license_assignments_asset, assets.licenses_customer;
