-- Egress volume above a threshold: bytes an interface sent from a private address to the internet
-- severity: high
-- recipients: netops@example.com, finance@example.com
-- subject: {rows} interfaces sent more than the egress threshold to the internet
-- param: max_bytes int 100000000 Bytes to the internet per interface above which the rule fires
-- note: Egress = is_private_ip(srcaddr) and not is_private_ip(dstaddr) (private: RFC 1918, 100.64/10, 127/8,
-- note: 169.254/16, ::1, fc00::/7, fe80::/10), so it works on every layout (no flow-direction field needed).
-- note: Portability: Athena/Trino test each range with contains('10.0.0.0/8', CAST(dstaddr AS IPADDRESS));
-- note: Presto has is_private_ip(CAST(dstaddr AS IPADDRESS)); Spark needs a UDF (or LIKE/SUBSTR on the text).
SELECT
    interface_id,
    COUNT(*) AS flows,
    COUNT(DISTINCT dstaddr) AS destinations,
    SUM(bytes) AS egress_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'ACCEPT'
  AND interface_id IS NOT NULL
  AND is_private_ip(srcaddr)
  AND NOT is_private_ip(dstaddr)
GROUP BY interface_id
HAVING SUM(bytes) > ${max_bytes}
ORDER BY egress_bytes DESC, interface_id
