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
