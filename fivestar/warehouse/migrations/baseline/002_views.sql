-- Reporting views (interfaces.md "Reporting views in the warehouse"): names and listed
-- columns are a contract; later columns are extras. Dropped and recreated on every
-- ensure_schema, dependants first (portable: SQLite has no DROP VIEW ... CASCADE).
-- Only rpt_* views are for BI users; they read derived tables, facts and the registry.

DROP VIEW IF EXISTS rpt_area_summary;
DROP VIEW IF EXISTS rpt_branch_star;
DROP VIEW IF EXISTS rpt_branch_rating;
DROP VIEW IF EXISTS rpt_submission;
DROP VIEW IF EXISTS rpt_dq_issue;
DROP VIEW IF EXISTS rpt_points_tally;

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

-- One row per processed file version.
CREATE VIEW rpt_submission AS
SELECT
    county_code,
    period,
    version,
    file_name,
    file_sha256,
    received_at,
    processed_at,
    status,
    errors,
    warnings,
    county_name,
    run_id
FROM submission;

-- Every finding of every version; cell is 'F12' (no sheet), '' for whole-file/sheet findings.
CREATE VIEW rpt_dq_issue AS
SELECT
    county_code,
    period,
    version,
    severity,
    COALESCE(sheet, '') AS sheet,
    COALESCE(cell, '') AS cell,
    COALESCE(column_name, '') AS column_name,
    value,
    rule,
    message,
    explained,
    row_number,
    branch_code,
    seq
FROM dq_issue;

-- Points per subject and month (cumulative columns and balance as of month end).
CREATE VIEW rpt_points_tally AS
SELECT
    period,
    branch_code,
    subject_type,
    subject_id,
    earned,
    deducted,
    redeemed,
    net,
    cumulative_earned,
    balance,
    county_code,
    cumulative_net,
    cumulative_redeemed
FROM points_tally;
