-- SSH or RDP accepted from the internet: accepted flows from public addresses to remote-administration ports
-- severity: high
-- recipients: secops@example.com
-- subject: SSH/RDP accepted from the internet ({rows} source/destination pairs)
-- param: ports int_list 22,3389 Remote-administration ports
-- note: "Public" = not in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or IPv6 fc00::/7, tested on the
-- note: address text as AWS writes it (standard string functions only).
SELECT
    srcaddr,
    dstaddr,
    dstport,
    interface_id,
    COUNT(*) AS flows,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'ACCEPT'
  AND protocol = 6
  AND dstport IN (${ports})
  AND srcaddr IS NOT NULL
  AND srcaddr NOT LIKE '10.%'
  AND srcaddr NOT LIKE '192.168.%'
  AND SUBSTR(srcaddr, 1, 7) NOT IN ('172.16.', '172.17.', '172.18.', '172.19.', '172.20.', '172.21.',
      '172.22.', '172.23.', '172.24.', '172.25.', '172.26.', '172.27.', '172.28.', '172.29.', '172.30.', '172.31.')
  AND LOWER(srcaddr) NOT LIKE 'fc__:%'
  AND LOWER(srcaddr) NOT LIKE 'fd__:%'
GROUP BY srcaddr, dstaddr, dstport, interface_id
ORDER BY flows DESC, srcaddr, dstaddr, dstport, interface_id NULLS LAST
