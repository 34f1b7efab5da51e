-- Egress volume above a threshold: bytes an interface sent from a private address to the internet
-- severity: high
-- recipients: netops@example.com, finance@example.com
-- subject: {rows} interfaces sent more than the egress threshold to the internet
-- param: max_bytes int 100000000 Bytes to the internet per interface above which the rule fires
-- note: Egress = source address private (10/8, 172.16/12, 192.168/16, fc00::/7) and destination
-- note: public, so it works on every layout (no flow-direction field needed). Standard SQL.
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
  AND (srcaddr LIKE '10.%' OR srcaddr LIKE '192.168.%'
       OR SUBSTR(srcaddr, 1, 7) IN ('172.16.', '172.17.', '172.18.', '172.19.', '172.20.', '172.21.',
          '172.22.', '172.23.', '172.24.', '172.25.', '172.26.', '172.27.', '172.28.', '172.29.', '172.30.', '172.31.')
       OR LOWER(srcaddr) LIKE 'fc__:%' OR LOWER(srcaddr) LIKE 'fd__:%')
  AND dstaddr NOT LIKE '10.%'
  AND dstaddr NOT LIKE '192.168.%'
  AND SUBSTR(dstaddr, 1, 7) NOT IN ('172.16.', '172.17.', '172.18.', '172.19.', '172.20.', '172.21.',
      '172.22.', '172.23.', '172.24.', '172.25.', '172.26.', '172.27.', '172.28.', '172.29.', '172.30.', '172.31.')
  AND LOWER(dstaddr) NOT LIKE 'fc__:%'
  AND LOWER(dstaddr) NOT LIKE 'fd__:%'
GROUP BY interface_id
HAVING SUM(bytes) > ${max_bytes}
ORDER BY egress_bytes DESC, interface_id
