-- One row per branch, year, as-of month, star and indicator: the indicator's points and hint.
CREATE VIEW rpt_indicator_score AS
SELECT
    year,
    as_of_period,
    county_code,
    branch_code,
    star_code,
    indicator_key,
    header,
    value,
    rule,
    points,
    hint
FROM branch_indicator_score;
