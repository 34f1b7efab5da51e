-- Direction: ingress vs egress traffic by action (flows, packets, bytes)
-- note: Needs the flow-direction field (v5+). Records without a direction or an action
-- note: (NODATA/SKIPDATA, and Transit Gateway records, which carry no action) are left out.
SELECT
    flow_direction,
    action,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE flow_direction IS NOT NULL
  AND action IS NOT NULL
GROUP BY flow_direction, action
ORDER BY flow_direction, action
