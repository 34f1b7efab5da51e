-- SSH or RDP accepted from the internet: accepted flows from public addresses to remote-administration ports
-- severity: high
-- recipients: secops@example.com
-- subject: SSH/RDP accepted from the internet ({rows} source/destination pairs)
-- param: ports int_list 22,3389 Remote-administration ports
-- note: "Public" = not is_private_ip(srcaddr) (RFC 1918, 100.64/10, 127/8, 169.254/16, ::1, fc00::/7, fe80::/10).
-- note: Portability: Athena/Trino test each range with contains('10.0.0.0/8', CAST(srcaddr AS IPADDRESS));
-- note: Presto has is_private_ip(CAST(srcaddr AS IPADDRESS)); Spark needs a UDF (or LIKE/SUBSTR on the text).
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
  AND NOT is_private_ip(srcaddr)
GROUP BY srcaddr, dstaddr, dstport, interface_id
ORDER BY flows DESC, srcaddr, dstaddr, dstport, interface_id NULLS LAST
