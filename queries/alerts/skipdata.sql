-- SKIPDATA appearing: capture windows whose records AWS skipped (capacity or an internal error), so flows are missing
-- severity: low
-- recipients: netops@example.com
-- subject: flow log records skipped on {rows} interfaces
-- note: Standard SQL. Needs interface-id (VPC flow logs).
SELECT
    interface_id,
    COUNT(*) AS skipped_windows,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE log_status = 'SKIPDATA'
GROUP BY interface_id
ORDER BY skipped_windows DESC, interface_id NULLS LAST
