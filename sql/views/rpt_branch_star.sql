-- One row per branch, year and applicable star, for the rating shown in rpt_branch_rating.
CREATE VIEW rpt_branch_star AS
SELECT
    br.year,
    bs.branch_code,
    bs.star_code,
    bs.star_name,
    bs.indicator_score,
    bs.points_score,
    bs.total_score,
    bs.awarded,
    bs.vetoed,
    bs.reason,
    br.as_of_period,
    br.county_code,
    bs.gate_failed
FROM rpt_branch_rating br
JOIN branch_star bs
    ON bs.year = br.year AND bs.as_of_period = br.as_of_period AND bs.branch_code = br.branch_code;
