-- Port scan: a source tried many distinct destination ports within a few minutes
-- severity: medium
-- recipients: secops@example.com
-- subject: {rows} port scans (one source, many ports, one time window)
-- param: min_ports int 10 Distinct destination ports from one source within one window that make a scan
-- param: window int 300 Window length in seconds (windows start at multiples of it, by each record's start)
-- note: Many ports in a short time, accepted or rejected; the same ports spread over hours are not a scan, and
-- note: neither is a rejected flow by itself. Replies (from a port below 1024 to one from 1024 up) are not counted.
-- note: Standard SQL (`start - start % window` runs unchanged on Athena/Trino and Spark).
SELECT
    srcaddr,
    start - start % ${window} AS window_start,
    COUNT(DISTINCT dstport) AS ports,
    COUNT(DISTINCT dstaddr) AS destinations,
    COUNT(*) AS flows,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE srcaddr IS NOT NULL
  AND dstport IS NOT NULL
  AND start IS NOT NULL
  AND NOT (srcport < 1024 AND dstport >= 1024)
GROUP BY srcaddr, start - start % ${window}
HAVING COUNT(DISTINCT dstport) >= ${min_ports}
ORDER BY ports DESC, srcaddr, window_start
