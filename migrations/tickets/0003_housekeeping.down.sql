drop function if exists tickets.housekeeping();
