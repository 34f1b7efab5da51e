-- Top ports: destination port/protocol pairs that carried the most bytes
-- param: top int 20 How many port/protocol pairs to show
-- note: Flow logs record each direction separately, so return traffic shows up under the client's
-- note: ephemeral port. Records without a destination port are left out.
SELECT
    dstport,
    protocol,
    COUNT(*) AS flows,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE dstport IS NOT NULL
GROUP BY dstport, protocol
ORDER BY total_bytes DESC NULLS LAST, flows DESC, dstport, protocol NULLS LAST
LIMIT ${top}
