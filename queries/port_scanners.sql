-- Port scanners: sources that tried at least min_ports distinct destination ports within one time window (5 minutes by default)
-- param: min_ports int 10 Minimum number of distinct destination ports from one source in one window
-- param: window int 300 Window length in seconds (windows start at multiples of it; a record counts in the window its start falls in)
-- note: A scan is many ports in a short time: the same ports tried one by one over hours fall in different
-- note: windows and are not reported, and neither is a source merely because it was rejected. Counts flows
-- note: whether accepted or rejected. Replies (from a port below 1024 to a port from 1024 up, e.g. a web server
-- note: answering clients) are not counted. Records without a source address or start are left out.
-- note: Portable: `start - start % window` is integer arithmetic in Athena/Trino, Spark and DuckDB alike.
SELECT
    srcaddr,
    start - start % ${window} AS window_start,
    COUNT(DISTINCT dstport) AS distinct_ports,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
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
ORDER BY distinct_ports DESC, flows DESC, srcaddr, window_start
