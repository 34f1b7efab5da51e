-- Accepted from internet: accepted flows from public addresses to admin and database ports (SSH, RDP, VNC, WinRM, SQL, ...)
-- param: ports int_list 22,23,3389,5900,5985,5986,1433,3306,5432,6379,9200,27017 Destination ports to look for
-- note: "Public" here means not in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or IPv6 ULA fc00::/7,
-- note: tested on the address text with LIKE/SUBSTR (addresses as AWS writes them, lowercase IPv6).
-- note: Other special ranges (100.64.0.0/10, 169.254.0.0/16, 127.0.0.0/8, fe80::/10) count as public.
SELECT
    srcaddr,
    dstaddr,
    dstport,
    protocol,
    interface_id,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'ACCEPT'
  AND dstport IN (${ports})
  AND srcaddr IS NOT NULL
  AND dstaddr IS NOT NULL
  AND srcaddr NOT LIKE '10.%'
  AND srcaddr NOT LIKE '192.168.%'
  AND SUBSTR(srcaddr, 1, 7) NOT IN ('172.16.', '172.17.', '172.18.', '172.19.', '172.20.', '172.21.',
      '172.22.', '172.23.', '172.24.', '172.25.', '172.26.', '172.27.', '172.28.', '172.29.', '172.30.', '172.31.')
  AND LOWER(srcaddr) NOT LIKE 'fc__:%'
  AND LOWER(srcaddr) NOT LIKE 'fd__:%'
GROUP BY srcaddr, dstaddr, dstport, protocol, interface_id
ORDER BY flows DESC, total_bytes DESC NULLS LAST, srcaddr, dstaddr, dstport,
    protocol NULLS LAST, interface_id NULLS LAST
