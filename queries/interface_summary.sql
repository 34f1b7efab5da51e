-- Interface summary: totals for each of a list of network interfaces
-- param: enis string_list required Interface ids, comma-separated (e.g. eni-0a1b2c3d4e5f60001,eni-0a1b2c3d4e5f60002)
SELECT
    interface_id,
    COUNT(*) AS records,
    SUM(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected,
    SUM(CASE WHEN log_status = 'NODATA' THEN 1 ELSE 0 END) AS nodata,
    SUM(CASE WHEN log_status = 'SKIPDATA' THEN 1 ELSE 0 END) AS skipdata,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstaddr) AS distinct_destinations,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE interface_id IN (${enis})
GROUP BY interface_id
ORDER BY interface_id
