-- Address traffic: everything to or from one IP address, by peer, direction, port, protocol and action
-- param: ip string required The IP address, exactly as written in the logs (e.g. 10.0.1.10)
-- note: direction is 'outbound' when the address is the source, 'inbound' when it is the destination.
SELECT
    CASE WHEN srcaddr = ${ip} THEN 'outbound' ELSE 'inbound' END AS direction,
    CASE WHEN srcaddr = ${ip} THEN dstaddr ELSE srcaddr END AS peer,
    dstport,
    protocol,
    action,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE srcaddr = ${ip}
   OR dstaddr = ${ip}
GROUP BY
    CASE WHEN srcaddr = ${ip} THEN 'outbound' ELSE 'inbound' END,
    CASE WHEN srcaddr = ${ip} THEN dstaddr ELSE srcaddr END,
    dstport, protocol, action
ORDER BY total_bytes DESC NULLS LAST, flows DESC, direction, peer NULLS LAST,
    dstport NULLS LAST, protocol NULLS LAST, action NULLS LAST
