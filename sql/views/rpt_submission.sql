-- One row per processed file version (times stored as UTC, shown in Asia/Shanghai).
CREATE VIEW rpt_submission AS
SELECT
    county_code,
    period,
    version,
    file_name,
    file_sha256,
    {{SHANGHAI(received_at)}} AS received_at,
    {{SHANGHAI(processed_at)}} AS processed_at,
    status,
    errors,
    warnings,
    county_name,
    run_id
FROM submission;
