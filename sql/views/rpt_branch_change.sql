-- One row per branch, year, as-of month and basis: the change of the rating against the
-- previous year's final rating or the previous month's.
CREATE VIEW rpt_branch_change AS
SELECT
    year,
    as_of_period,
    county_code,
    branch_code,
    basis,
    compared_period,
    level_before,
    level_after,
    stars_gained,
    stars_lost,
    reason
FROM branch_change;
