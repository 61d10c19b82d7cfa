-- One row per close or reopen of a period (fivestar close / fivestar reopen).
CREATE VIEW rpt_period_event AS
SELECT
    period,
    county_code,
    action,
    actor,
    {{SHANGHAI(at)}} AS at,
    reason,
    id AS event_id
FROM period_event;
