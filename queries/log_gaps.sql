-- Log gaps: NODATA and SKIPDATA capture windows per interface (no traffic, or records skipped)
-- note: seconds_covered adds up end - start of every window (overlapping windows count twice).
-- note: Records without an interface id (Transit Gateway) are left out.
SELECT
    interface_id,
    log_status,
    COUNT(*) AS windows,
    MIN(start) AS first_start,
    MAX("end") AS last_end,
    SUM("end" - start) AS seconds_covered
FROM flows
WHERE log_status IN ('NODATA', 'SKIPDATA')
  AND interface_id IS NOT NULL
GROUP BY interface_id, log_status
ORDER BY seconds_covered DESC NULLS LAST, interface_id, log_status
