-- rpt_area_summary for every month any county was rated (`period`): the counts as they
-- stood at the end of that month, each county at its latest as-of month of that year up
-- to `period`. At the latest month of a year it equals rpt_area_summary of that year.
CREATE VIEW rpt_area_history AS
WITH months AS (
    SELECT DISTINCT year, county_code, as_of_period FROM branch_rating
),
cut AS (
    -- Per month any county was rated, each county's latest as-of month of that year up to it.
    SELECT c.as_of_period AS period, m.county_code, MAX(m.as_of_period) AS as_of_period
    FROM (SELECT DISTINCT year, as_of_period FROM months) c
    JOIN months m ON m.year = c.year AND m.as_of_period <= c.as_of_period
    GROUP BY c.as_of_period, m.county_code
),
snapshot AS (
    -- Branches per month, county and star level first: the roll-ups below then add up a
    -- few thousand rows, not every rating of every month.
    SELECT
        c.period, h.year, h.branch_type, h.county_code, h.city_code, h.province_code, h.star_level,
        CAST(COUNT(*) AS INTEGER) AS n
    FROM cut c
    JOIN rpt_rating_history h ON h.county_code = c.county_code AND h.as_of_period = c.as_of_period
    GROUP BY c.period, h.year, h.branch_type, h.county_code, h.city_code, h.province_code, h.star_level
),
rated AS (
    SELECT period, year, branch_type, county_code, city_code, province_code, star_level, n
    FROM snapshot
    UNION ALL
    SELECT period, year, '全部', county_code, city_code, province_code, star_level, n
    FROM snapshot
),
rated_area AS (
    SELECT period, year, branch_type, 'county' AS area_level, county_code AS area_code, province_code, star_level, n
    FROM rated
    UNION ALL
    SELECT period, year, branch_type, 'city', city_code, province_code, star_level, n
    FROM rated WHERE city_code IS NOT NULL
    UNION ALL
    SELECT period, year, branch_type, 'province', province_code, province_code, star_level, n
    FROM rated WHERE province_code IS NOT NULL
),
counts AS (
    SELECT
        period, year, area_level, area_code, branch_type,
        MAX(province_code) AS province_code,
        SUM(n) AS branches,
        SUM(CASE WHEN star_level = 5 THEN n ELSE 0 END) AS five_star,
        SUM(CASE WHEN star_level = 4 THEN n ELSE 0 END) AS four_star,
        SUM(CASE WHEN star_level = 3 THEN n ELSE 0 END) AS three_star,
        SUM(CASE WHEN star_level = 2 THEN n ELSE 0 END) AS two_star,
        SUM(CASE WHEN star_level = 1 THEN n ELSE 0 END) AS one_star,
        SUM(CASE WHEN star_level = 0 THEN n ELSE 0 END) AS zero_star,
        SUM(CASE WHEN star_level >= 3 THEN n ELSE 0 END) AS three_plus
    FROM rated_area
    GROUP BY period, year, area_level, area_code, branch_type
),
reg_branch AS (
    SELECT b.branch_type, c.code AS county_code, c.parent_code AS city_code, ci.parent_code AS province_code
    FROM registry_region b
    JOIN registry_region c ON c.code = b.parent_code AND c.level = 'county'
    LEFT JOIN registry_region ci ON ci.code = c.parent_code AND ci.level = 'city'
    WHERE b.level = 'branch'
),
reg_typed AS (
    SELECT branch_type, county_code, city_code, province_code FROM reg_branch
    WHERE branch_type IS NOT NULL
    UNION ALL
    SELECT '全部', county_code, city_code, province_code FROM reg_branch
),
reg_counts AS (
    SELECT 'county' AS area_level, county_code AS area_code, branch_type, COUNT(*) AS n
    FROM reg_typed GROUP BY county_code, branch_type
    UNION ALL
    SELECT 'city', city_code, branch_type, COUNT(*)
    FROM reg_typed WHERE city_code IS NOT NULL GROUP BY city_code, branch_type
    UNION ALL
    SELECT 'province', province_code, branch_type, COUNT(*)
    FROM reg_typed WHERE province_code IS NOT NULL GROUP BY province_code, branch_type
)
SELECT
    c.period,
    c.year,
    c.area_level,
    c.area_code,
    a.name AS area_name,
    c.branch_type,
    c.branches,
    COALESCE(rc.n, 0) AS registry_branches,
    c.five_star,
    c.four_star,
    c.three_star,
    c.two_star,
    c.one_star,
    c.zero_star,
    CAST(c.three_plus AS DOUBLE PRECISION) / c.branches AS three_plus_share,
    CAST(c.five_star AS DOUBLE PRECISION) / c.branches AS five_star_share,
    CAST(p.three_plus AS DOUBLE PRECISION) / p.branches AS province_three_plus_share,
    c.three_plus AS three_plus,
    c.province_code
FROM counts c
LEFT JOIN registry_region a ON a.code = c.area_code
LEFT JOIN reg_counts rc
    ON rc.area_level = c.area_level AND rc.area_code = c.area_code AND rc.branch_type = c.branch_type
LEFT JOIN counts p
    ON p.area_level = 'province' AND p.area_code = c.province_code
    AND p.period = c.period AND p.year = c.year AND p.branch_type = c.branch_type;
