-- Rejected-traffic spike on a security group: many rejected flows on the interfaces of one security group within a few minutes
-- severity: medium
-- recipients: netops@example.com
-- subject: rejected-traffic spikes on {rows} security group windows
-- param: sg_min_rejects int 20 Rejected flows on one security group's interfaces within one window that make a spike
-- param: window int 300 Window length in seconds (windows start at multiples of it, by each record's start)
-- note: Needs --eni-inventory (column eni_security_groups); `vpcflow alert --rule all` skips it without one.
-- note: A flow on an interface with several groups counts for each. Many sources on few ports suggest a group
-- note: that blocks legitimate clients (or a network ACL); one source on many ports is a scan (see port_scan).
-- note: Portability: Athena/Trino unnest with FROM flows CROSS JOIN UNNEST(eni_security_groups) AS t(security_group);
-- note: Spark writes explode(eni_security_groups) where this writes UNNEST(...).
SELECT
    security_group,
    window_start,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT interface_id) AS interfaces,
    COUNT(DISTINCT srcaddr) AS sources,
    COUNT(DISTINCT dstport) AS ports,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM (
    SELECT
        UNNEST(eni_security_groups) AS security_group,
        start - start % ${window} AS window_start,
        interface_id,
        srcaddr,
        dstport,
        start,
        "end"
    FROM flows
    WHERE action = 'REJECT'
      AND start IS NOT NULL
) g
GROUP BY security_group, window_start
HAVING COUNT(*) >= ${sg_min_rejects}
ORDER BY rejected_flows DESC, security_group, window_start
