-- Fan-out: sources that contacted at least min_hosts distinct destination addresses within one time window (5 minutes by default)
-- param: min_hosts int 20 Minimum number of distinct destination addresses from one source in one window
-- param: window int 300 Window length in seconds (windows start at multiples of it; a record counts in the window its start falls in)
-- note: Many hosts in a short time (a sweep, a worm, lateral movement), not many hosts over a day. Counts flows
-- note: whether accepted or rejected. Replies (from a port below 1024 to a port from 1024 up, e.g. a server
-- note: answering many clients) are not counted. Records without addresses or start are left out.
-- note: Portable: `start - start % window` is integer arithmetic in Athena/Trino, Spark and DuckDB alike.
SELECT
    srcaddr,
    start - start % ${window} AS window_start,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    COUNT(DISTINCT dstport) AS distinct_ports,
    COUNT(*) AS flows,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
  AND start IS NOT NULL
  AND NOT (srcport < 1024 AND dstport >= 1024)
GROUP BY srcaddr, start - start % ${window}
HAVING COUNT(DISTINCT dstaddr) >= ${min_hosts}
ORDER BY distinct_destinations DESC, flows DESC, srcaddr, window_start
