-- Rejected by security group: rejected flows per security group of the interface that logged them (spot overly restrictive security groups)
-- param: top int 20 How many security groups to show
-- note: Needs --eni-inventory (column eni_security_groups). A flow on an interface with several groups counts
-- note: once for each; flows on interfaces the inventory doesn't list are left out. A REJECT can also come
-- note: from the subnet's network ACL: the groups are where to look first, not proof.
-- note: Portability: Athena/Trino unnest with FROM flows CROSS JOIN UNNEST(eni_security_groups) AS t(security_group);
-- note: Spark writes explode(eni_security_groups) where this writes UNNEST(...) (DuckDB runs it as is).
SELECT
    security_group,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT interface_id) AS interfaces,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstport) AS distinct_ports,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM (
    SELECT
        UNNEST(eni_security_groups) AS security_group,
        interface_id,
        srcaddr,
        dstport,
        packets,
        bytes,
        start,
        "end"
    FROM flows
    WHERE action = 'REJECT'
) g
GROUP BY security_group
ORDER BY rejected_flows DESC, security_group
LIMIT ${top}
