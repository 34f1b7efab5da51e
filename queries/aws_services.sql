-- AWS services: traffic from and to AWS services (pkt-src-aws-service / pkt-dst-aws-service)
-- note: Needs the pkt-src-aws-service and pkt-dst-aws-service fields (v5+). direction is 'from_service'
-- note: when the service is the packet source, 'to_service' when it is the destination; a record
-- note: naming both counts once in each.
SELECT
    service,
    direction,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM (
    SELECT pkt_src_aws_service AS service, 'from_service' AS direction, packets, bytes
    FROM flows
    WHERE pkt_src_aws_service IS NOT NULL
    UNION ALL
    SELECT pkt_dst_aws_service AS service, 'to_service' AS direction, packets, bytes
    FROM flows
    WHERE pkt_dst_aws_service IS NOT NULL
) s
GROUP BY service, direction
ORDER BY total_bytes DESC NULLS LAST, flows DESC, service, direction
