-- One row per branch, year and as-of month: every rating ever derived (rpt_branch_rating
-- keeps only each county's latest month of the year), joined to the roster version and
-- the registry exactly as rpt_branch_rating is. The report's previous month, trend and
-- --as-of read it.
CREATE VIEW rpt_rating_history AS
SELECT
    br.year,
    br.as_of_period,
    br.is_final,
    br.branch_code,
    r.branch_name,
    COALESCE(br.branch_type, r.branch_type) AS branch_type,
    r.township,
    br.county_code,
    co.name AS county_name,
    co.parent_code AS city_code,
    ci.name AS city_name,
    br.star_level,
    ci.parent_code AS province_code,
    br.months_accepted,
    br.as_of_version
FROM branch_rating br
JOIN roster r
    ON r.county_code = br.county_code AND r.period = br.as_of_period
    AND r.version = br.as_of_version AND r.branch_code = br.branch_code
LEFT JOIN registry_region co ON co.code = br.county_code AND co.level = 'county'
LEFT JOIN registry_region ci ON ci.code = co.parent_code AND ci.level = 'city';
