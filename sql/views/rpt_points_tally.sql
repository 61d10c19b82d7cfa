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
