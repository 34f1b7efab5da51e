-- Interface traffic: what reached or left one network interface, by source, destination, port, protocol and action
-- param: eni string required The interface id, e.g. eni-0a1b2c3d4e5f60001
-- note: Records without addresses (NODATA, SKIPDATA) are left out; see log_gaps for those.
SELECT
    srcaddr,
    dstaddr,
    dstport,
    protocol,
    action,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE interface_id = ${eni}
  AND srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
GROUP BY srcaddr, dstaddr, dstport, protocol, action
ORDER BY total_bytes DESC NULLS LAST, flows DESC, srcaddr, dstaddr,
    dstport NULLS LAST, protocol NULLS LAST, action NULLS LAST
