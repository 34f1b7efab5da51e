-- Top talkers: source/destination pairs that moved the most bytes
-- param: top int 10 How many pairs to show
-- note: Records without addresses (NODATA, SKIPDATA) are left out.
SELECT
    srcaddr,
    dstaddr,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY total_bytes DESC NULLS LAST, flows DESC, srcaddr, dstaddr
LIMIT ${top}
