-- Summary: one row with record counts by action and log status, totals, interfaces and time span
-- note: first_time/last_time use the start_time/end_time columns vpcflow adds to the flows view; on
-- note: other engines define them (Athena: from_unixtime(start); Spark: timestamp_seconds(start)) or drop them.
SELECT
    COUNT(*) AS records,
    SUM(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected,
    SUM(CASE WHEN log_status = 'NODATA' THEN 1 ELSE 0 END) AS nodata,
    SUM(CASE WHEN log_status = 'SKIPDATA' THEN 1 ELSE 0 END) AS skipdata,
    SUM(bytes) AS total_bytes,
    SUM(packets) AS total_packets,
    COUNT(DISTINCT interface_id) AS interfaces,
    MIN(start) AS first_start,
    MAX("end") AS last_end,
    MIN(start_time) AS first_time,
    MAX(end_time) AS last_time
FROM flows
