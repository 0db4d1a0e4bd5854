drop function if exists crm.housekeeping();
