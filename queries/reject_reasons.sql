-- Reject reasons: rejected flows per reject-reason (e.g. BPA = VPC Block Public Access)
-- note: Needs the reject-reason field (v8). Records without a reject reason are left out.
SELECT
    reject_reason,
    COUNT(*) AS flows,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    COUNT(DISTINCT dstport) AS distinct_ports,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE reject_reason IS NOT NULL
GROUP BY reject_reason
ORDER BY flows DESC, reject_reason
