-- Unexpected ports: accepted TCP/UDP flows to well-known ports that are not on an allow-list
-- param: allowed int_list 53,80,123,443 Destination ports that are expected (SSH is left off on purpose, so it shows up)
-- param: below int 1024 Only look at destination ports below this (skips return traffic to ephemeral ports)
SELECT
    dstport,
    protocol,
    COUNT(*) AS flows,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE action = 'ACCEPT'
  AND protocol IN (6, 17)
  AND dstport < ${below}
  AND dstport NOT IN (${allowed})
GROUP BY dstport, protocol
ORDER BY flows DESC, total_bytes DESC NULLS LAST, dstport, protocol
