-- Top rejected sources: addresses with the most rejected flows, and how widely they probed
-- param: top int 10 How many sources to show
-- note: Only records with action REJECT and a source address.
SELECT
    srcaddr,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    COUNT(DISTINCT dstport) AS distinct_ports,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'REJECT'
  AND srcaddr IS NOT NULL
GROUP BY srcaddr
ORDER BY rejected_flows DESC, distinct_ports DESC, srcaddr
LIMIT ${top}
