-- ECS task traffic: flows, bytes and rejected flows per ECS cluster, service and task
-- param: top int 50 How many tasks to show
-- note: Needs the ecs-* fields (v7+). Only records with an ecs-task-id; tasks not started by a
-- note: service have a NULL ecs_service_name.
SELECT
    ecs_cluster_name,
    ecs_service_name,
    ecs_task_id,
    COUNT(*) AS flows,
    SUM(packets) AS total_packets,
    SUM(bytes) AS total_bytes,
    SUM(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected_flows
FROM flows
WHERE ecs_task_id IS NOT NULL
GROUP BY ecs_cluster_name, ecs_service_name, ecs_task_id
ORDER BY total_bytes DESC NULLS LAST, flows DESC, ecs_cluster_name NULLS LAST,
    ecs_service_name NULLS LAST, ecs_task_id
LIMIT ${top}
