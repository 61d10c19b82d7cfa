-- One row per branch and month: participation in the points system.
CREATE VIEW rpt_branch_points AS
SELECT
    period,
    county_code,
    branch_code,
    households_active,
    members_active,
    households_positive,
    participation_rate,
    avg_household_points
FROM branch_points;
