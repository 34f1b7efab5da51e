-- Egress by traffic path: where egress traffic leaves through (internet gateway, peering, endpoints, ...)
-- note: Needs the flow-direction and traffic-path fields (v5+). Egress records with no traffic path are left out.
SELECT
    traffic_path,
    CASE traffic_path
        WHEN 1 THEN 'same VPC resource'
        WHEN 2 THEN 'internet gateway or gateway VPC endpoint'
        WHEN 3 THEN 'virtual private gateway'
        WHEN 4 THEN 'intra-region VPC peering'
        WHEN 5 THEN 'inter-region VPC peering'
        WHEN 6 THEN 'local gateway'
        WHEN 7 THEN 'gateway VPC endpoint (Nitro)'
        WHEN 8 THEN 'internet gateway (Nitro)'
        ELSE 'other'
    END AS path_name,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE flow_direction = 'egress'
  AND traffic_path IS NOT NULL
GROUP BY traffic_path
ORDER BY traffic_path
