-- One row per branch, year, as-of month and applicable star: every star result ever
-- derived (rpt_branch_star keeps only the ratings of rpt_branch_rating).
CREATE VIEW rpt_star_history AS
SELECT
    year,
    branch_code,
    star_code,
    star_name,
    indicator_score,
    points_score,
    total_score,
    awarded,
    vetoed,
    reason,
    as_of_period,
    county_code,
    gate_failed
FROM branch_star;
