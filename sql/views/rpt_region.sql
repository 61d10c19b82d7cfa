-- The registry as loaded from config/registry.csv: provinces, cities, counties, branches.
CREATE VIEW rpt_region AS
SELECT
    code,
    name,
    level,
    parent_code,
    branch_type,
    township
FROM registry_region;
