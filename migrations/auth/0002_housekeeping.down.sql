drop function if exists auth.housekeeping();
