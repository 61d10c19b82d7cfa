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
