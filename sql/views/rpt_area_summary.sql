-- Counts by area (province, city, county) x branch type (村, 社区, 全部); rows only where
-- branches > 0. Shares are fractions 0-1 of the rated branches.
CREATE VIEW rpt_area_summary AS
WITH rated AS (
    SELECT year, branch_type, county_code, city_code, province_code, star_level
    FROM rpt_branch_rating
    UNION ALL
    SELECT year, '全部', county_code, city_code, province_code, star_level
    FROM rpt_branch_rating
),
rated_area AS (
    SELECT year, branch_type, 'county' AS area_level, county_code AS area_code, province_code, star_level
    FROM rated
    UNION ALL
    SELECT year, branch_type, 'city', city_code, province_code, star_level
    FROM rated WHERE city_code IS NOT NULL
    UNION ALL
    SELECT year, branch_type, 'province', province_code, province_code, star_level
    FROM rated WHERE province_code IS NOT NULL
),
counts AS (
    SELECT
        year, area_level, area_code, branch_type,
        MAX(province_code) AS province_code,
        COUNT(*) AS branches,
        SUM(CASE WHEN star_level = 5 THEN 1 ELSE 0 END) AS five_star,
        SUM(CASE WHEN star_level = 4 THEN 1 ELSE 0 END) AS four_star,
        SUM(CASE WHEN star_level = 3 THEN 1 ELSE 0 END) AS three_star,
        SUM(CASE WHEN star_level = 2 THEN 1 ELSE 0 END) AS two_star,
        SUM(CASE WHEN star_level = 1 THEN 1 ELSE 0 END) AS one_star,
        SUM(CASE WHEN star_level = 0 THEN 1 ELSE 0 END) AS zero_star,
        SUM(CASE WHEN star_level >= 3 THEN 1 ELSE 0 END) AS three_plus
    FROM rated_area
    GROUP BY year, area_level, area_code, branch_type
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
    AND p.year = c.year AND p.branch_type = c.branch_type;
