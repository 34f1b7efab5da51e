-- Bytes per minute: traffic per interface per minute (minute = start of the flow's capture window, epoch seconds rounded down to the minute)
-- param: eni string % Interface id to show, as a LIKE pattern (% for all interfaces)
-- note: A record is counted in the minute its capture window starts; windows are not split.
-- note: Only OK records with an interface id (Transit Gateway records have none).
SELECT
    interface_id,
    start - start % 60 AS minute,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes
FROM flows
WHERE interface_id LIKE ${eni}
  AND log_status = 'OK'
  AND start IS NOT NULL
GROUP BY interface_id, start - start % 60
ORDER BY interface_id, minute
