-- The license list's customer_id filter (and its per=customer_id: the
-- first licenses of each of many customers) reads a customer's licenses in
-- the list's default order along an index; its asset_id filter finds the
-- seats of the assets along one.

create index licenses_customer on assets.licenses (tenant_id, customer_id, created_at, id);
create index license_assignments_asset on assets.license_assignments (tenant_id, asset_id)
    where asset_id is not null;
