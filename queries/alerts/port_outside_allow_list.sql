-- Port outside the allow-list: accepted TCP/UDP flows to a service port that is not allowed
-- severity: medium
-- recipients: secops@example.com
-- subject: traffic accepted on {rows} ports outside the allow-list
-- param: allowed int_list 53,80,123,443 Destination ports that are allowed
-- param: below int 1024 Only ports below this count as service ports (skips replies to ephemeral ports)
-- note: Standard SQL.
SELECT
    dstport,
    protocol,
    COUNT(*) AS flows,
    COUNT(DISTINCT srcaddr) AS sources,
    COUNT(DISTINCT dstaddr) AS destinations,
    SUM(bytes) AS total_bytes
FROM flows
WHERE action = 'ACCEPT'
  AND protocol IN (6, 17)
  AND dstport < ${below}
  AND dstport NOT IN (${allowed})
GROUP BY dstport, protocol
ORDER BY flows DESC, dstport, protocol
