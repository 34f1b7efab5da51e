-- Protocol mix: flows and bytes per IP protocol, with each protocol's share of all bytes
-- note: Records without a protocol (NODATA, SKIPDATA) are left out. bytes_pct is a percentage rounded to 2 places.
WITH per_protocol AS (
    SELECT
        protocol,
        COUNT(*) AS flows,
        SUM(packets) AS total_packets,
        SUM(bytes) AS total_bytes
    FROM flows
    WHERE protocol IS NOT NULL
    GROUP BY protocol
),
everything AS (
    SELECT SUM(total_bytes) AS all_bytes FROM per_protocol
)
SELECT
    p.protocol AS protocol,
    CASE p.protocol
        WHEN 1 THEN 'ICMP'
        WHEN 6 THEN 'TCP'
        WHEN 17 THEN 'UDP'
        WHEN 47 THEN 'GRE'
        WHEN 50 THEN 'ESP'
        WHEN 51 THEN 'AH'
        WHEN 58 THEN 'IPv6-ICMP'
        ELSE 'other'
    END AS protocol_name,
    p.flows AS flows,
    p.total_packets AS total_packets,
    p.total_bytes AS total_bytes,
    ROUND(100 * CAST(p.total_bytes AS DOUBLE) / NULLIF(e.all_bytes, 0), 2) AS bytes_pct
FROM per_protocol p
CROSS JOIN everything e
ORDER BY p.total_bytes DESC NULLS LAST, p.protocol
