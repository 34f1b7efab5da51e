-- Rejected by port: destination port/protocol pairs with the most rejected flows (spot overly restrictive security groups and NACLs)
-- param: top int 20 How many port/protocol pairs to show
-- note: Only records with action REJECT and a destination port. Many distinct sources on one port
-- note: suggests legitimate clients being blocked; one source on many ports within minutes is a scan (see port_scanners), and
-- note: rejected_by_security_group / rejected_by_instance name the groups and instances (with --eni-inventory).
SELECT
    dstport,
    protocol,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE action = 'REJECT'
  AND dstport IS NOT NULL
GROUP BY dstport, protocol
ORDER BY rejected_flows DESC, distinct_sources DESC, dstport, protocol NULLS LAST
LIMIT ${top}
