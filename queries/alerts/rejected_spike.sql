-- Rejected-traffic spike: a source with many rejected flows (a scan, a brute force, or a security group that blocks something legitimate)
-- severity: medium
-- recipients: netops@example.com
-- subject: {rows} sources with rejected-traffic spikes
-- param: min_rejects int 20 Rejected flows from one source that make a spike
-- note: Standard SQL. Records without a source address (NODATA, SKIPDATA) are left out.
SELECT
    srcaddr,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT dstaddr) AS destinations,
    COUNT(DISTINCT dstport) AS ports,
    SUM(packets) AS total_packets,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'REJECT'
  AND srcaddr IS NOT NULL
GROUP BY srcaddr
HAVING COUNT(*) >= ${min_rejects}
ORDER BY rejected_flows DESC, srcaddr
