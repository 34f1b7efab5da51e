-- Port scanners: sources that contacted at least min_ports distinct destination ports
-- param: min_ports int 10 Minimum number of distinct destination ports
-- note: Counts flows from the source whether accepted or rejected. Replies (from a port below 1024 to a
-- note: port from 1024 up, e.g. a web server answering clients) are not counted. Records without a
-- note: source address are left out.
SELECT
    srcaddr,
    COUNT(DISTINCT dstport) AS distinct_ports,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    COUNT(*) AS flows,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE srcaddr IS NOT NULL
  AND dstport IS NOT NULL
  AND NOT (srcport < 1024 AND dstport >= 1024)
GROUP BY srcaddr
HAVING COUNT(DISTINCT dstport) >= ${min_ports}
ORDER BY distinct_ports DESC, flows DESC, srcaddr
