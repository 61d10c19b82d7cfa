-- One row per branch and year: the as-of rating of its county's latest accepted month of
-- that year, for every branch in that month's roster (the roster version the rating used).
CREATE VIEW rpt_branch_rating AS
WITH latest AS (
    SELECT county_code, year, MAX(as_of_period) AS as_of_period
    FROM branch_rating
    GROUP BY county_code, year
)
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
JOIN latest l
    ON l.county_code = br.county_code AND l.year = br.year AND l.as_of_period = br.as_of_period
JOIN roster r
    ON r.county_code = br.county_code AND r.period = br.as_of_period
    AND r.version = br.as_of_version AND r.branch_code = br.branch_code
LEFT JOIN registry_region co ON co.code = br.county_code AND co.level = 'county'
LEFT JOIN registry_region ci ON ci.code = co.parent_code AND ci.level = 'city';
