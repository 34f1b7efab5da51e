-- Rejected by instance: rejected flows per EC2 instance and Name tag of the interface that logged them
-- param: top int 20 How many instances to show
-- note: Needs --eni-inventory (columns eni_instance_id, eni_name). Flows on interfaces that the inventory doesn't
-- note: list, or that have neither an instance nor a Name tag, are left out. Many distinct sources on few
-- note: ports suggest legitimate clients blocked by a security group or network ACL.
-- note: Runs unchanged on Athena/Trino and Spark over a dataset converted with --eni-inventory (it has the eni_* columns).
SELECT
    eni_instance_id,
    eni_name,
    COUNT(DISTINCT interface_id) AS interfaces,
    COUNT(*) AS rejected_flows,
    COUNT(DISTINCT srcaddr) AS distinct_sources,
    COUNT(DISTINCT dstport) AS distinct_ports,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    MIN(start) AS first_start,
    MAX("end") AS last_end
FROM flows
WHERE action = 'REJECT'
  AND (eni_instance_id IS NOT NULL OR eni_name IS NOT NULL)
GROUP BY eni_instance_id, eni_name
ORDER BY rejected_flows DESC, eni_instance_id NULLS LAST, eni_name NULLS LAST
LIMIT ${top}
