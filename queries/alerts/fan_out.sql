-- Fan-out: a source contacted many distinct hosts within a few minutes (a sweep, a worm, lateral movement)
-- severity: medium
-- recipients: secops@example.com
-- subject: {rows} fan-outs (one source, many hosts, one time window)
-- param: min_hosts int 20 Distinct destination addresses from one source within one window that make a fan-out
-- param: window int 300 Window length in seconds (windows start at multiples of it, by each record's start)
-- note: Accepted or rejected flows. Replies (from a port below 1024 to one from 1024 up, e.g. a server
-- note: answering many clients) are not counted.
-- note: Standard SQL (`start - start % window` runs unchanged on Athena/Trino and Spark).
SELECT
    srcaddr,
    start - start % ${window} AS window_start,
    COUNT(DISTINCT dstaddr) AS destinations,
    COUNT(DISTINCT dstport) AS ports,
    COUNT(*) AS flows,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
  AND start IS NOT NULL
  AND NOT (srcport < 1024 AND dstport >= 1024)
GROUP BY srcaddr, start - start % ${window}
HAVING COUNT(DISTINCT dstaddr) >= ${min_hosts}
ORDER BY destinations DESC, srcaddr, window_start
