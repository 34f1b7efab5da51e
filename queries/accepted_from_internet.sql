-- Accepted from internet: accepted flows from public addresses to admin and database ports (SSH, RDP, VNC, WinRM, SQL, ...)
-- param: ports int_list 22,23,3389,5900,5985,5986,1433,3306,5432,6379,9200,27017 Destination ports to look for
-- note: "Public" = not is_private_ip(srcaddr): outside 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade
-- note: NAT), 127/8, 169.254/16, ::1, fc00::/7 and fe80::/10 (vpcflow's SQL function, on the parsed address).
-- note: Portability: Athena/Trino have no is_private_ip; test each range with
-- note: contains('10.0.0.0/8', CAST(srcaddr AS IPADDRESS)) (Presto: is_private_ip(CAST(srcaddr AS IPADDRESS))).
-- note: Spark has no IP functions: register a UDF, or test the ranges on the text with LIKE/SUBSTR.
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
  AND NOT is_private_ip(srcaddr)
GROUP BY srcaddr, dstaddr, dstport, protocol, interface_id
ORDER BY flows DESC, total_bytes DESC NULLS LAST, srcaddr, dstaddr, dstport,
    protocol NULLS LAST, interface_id NULLS LAST
