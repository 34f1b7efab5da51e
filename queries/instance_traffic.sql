-- Instance traffic: what reached or left one EC2 instance (all its interfaces), by interface, source, destination, port, protocol and action
-- param: instance string required The instance id, e.g. i-0123456789abcdef0
-- note: Needs the instance-id field (custom format, v3+). Records without addresses are left out.
SELECT
    interface_id,
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
WHERE instance_id = ${instance}
  AND srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
GROUP BY interface_id, srcaddr, dstaddr, dstport, protocol, action
ORDER BY total_bytes DESC NULLS LAST, flows DESC, interface_id NULLS LAST, srcaddr, dstaddr,
    dstport NULLS LAST, protocol NULLS LAST, action NULLS LAST
