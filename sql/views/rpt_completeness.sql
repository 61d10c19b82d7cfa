-- One row per registered county and period: did it report, on time, how late, is it closed.
-- The rows are computed by each run as of its "now" (table completeness); `closed` is live.
CREATE VIEW rpt_completeness AS
SELECT
    c.period,
    c.county_code,
    c.county_name,
    c.city_code,
    {{SHANGHAI(c.deadline)}} AS deadline,
    c.expected,
    {{SHANGHAI(c.first_received_at)}} AS first_received_at,
    {{SHANGHAI(c.last_received_at)}} AS last_received_at,
    c.versions,
    c.current_version,
    c.status,
    c.on_time,
    c.days_late,
    CASE WHEN (
        SELECT e.action FROM period_event e
        WHERE e.period = c.period AND e.county_code IN ('', c.county_code)
        ORDER BY e.id DESC LIMIT 1
    ) = 'close' THEN TRUE ELSE FALSE END AS closed,
    ci.name AS city_name,
    c.accepted_version,
    {{SHANGHAI(c.accepted_at)}} AS accepted_at,
    c.late_closed,
    {{SHANGHAI(c.as_of)}} AS as_of
FROM completeness c
LEFT JOIN registry_region ci ON ci.code = c.city_code AND ci.level = 'city';
