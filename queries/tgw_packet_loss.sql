-- Transit Gateway packet loss: packets lost per transit gateway and attachment, by cause
-- note: Needs Transit Gateway flow logs. loss_ratio = lost / (packets + lost), i.e. the share of
-- note: packets that were dropped (NULL when there were no packets at all).
SELECT
    tgw_id,
    tgw_attachment_id,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(packets_lost_no_route) AS lost_no_route,
    SUM(packets_lost_blackhole) AS lost_blackhole,
    SUM(packets_lost_mtu_exceeded) AS lost_mtu_exceeded,
    SUM(packets_lost_ttl_expired) AS lost_ttl_expired,
    SUM(COALESCE(packets_lost_no_route, 0) + COALESCE(packets_lost_blackhole, 0)
        + COALESCE(packets_lost_mtu_exceeded, 0) + COALESCE(packets_lost_ttl_expired, 0)) AS lost_total,
    CAST(SUM(COALESCE(packets_lost_no_route, 0) + COALESCE(packets_lost_blackhole, 0)
             + COALESCE(packets_lost_mtu_exceeded, 0) + COALESCE(packets_lost_ttl_expired, 0)) AS DOUBLE)
        / NULLIF(SUM(COALESCE(packets, 0) + COALESCE(packets_lost_no_route, 0) + COALESCE(packets_lost_blackhole, 0)
                     + COALESCE(packets_lost_mtu_exceeded, 0) + COALESCE(packets_lost_ttl_expired, 0)), 0) AS loss_ratio
FROM flows
WHERE tgw_id IS NOT NULL
GROUP BY tgw_id, tgw_attachment_id
ORDER BY lost_total DESC, total_packets DESC NULLS LAST, tgw_id, tgw_attachment_id NULLS LAST
