//! The Elasticsearch composable index template for the ECS documents (`vpcflow es-template`):
//! a data stream over `logs-aws.vpcflow-*` whose mappings give every field our documents carry,
//! and every field of the integration's "Exported fields" table for its VPC Flow data stream,
//! the type Elastic's AWS VPC Flow integration gives it (so documents shipped by Elastic's own
//! agent land in the same data stream without mapping conflicts).

use serde_json::{Map, Value, json};

use crate::format::fields::FIELDS;

/// Fields of the documents outside `aws.vpcflow`, with their Elasticsearch types.
const ECS_FIELDS: &[(&str, &str)] = &[
    ("@timestamp", "date"),
    // Provenance of documents read from S3 objects (as Elastic's aws-s3 input writes it).
    ("aws.s3.bucket.arn", "keyword"),
    ("aws.s3.bucket.name", "keyword"),
    ("aws.s3.metadata", "flattened"),
    ("aws.s3.object.key", "keyword"),
    ("cloud.account.id", "keyword"),
    ("cloud.availability_zone", "keyword"),
    ("cloud.image.id", "keyword"),
    ("cloud.instance.id", "keyword"),
    ("cloud.provider", "keyword"),
    ("cloud.region", "keyword"),
    ("data_stream.dataset", "constant_keyword"),
    ("data_stream.namespace", "constant_keyword"),
    ("data_stream.type", "constant_keyword"),
    ("destination.address", "keyword"),
    ("destination.as.number", "long"),
    ("destination.as.organization.name", "keyword"),
    ("destination.geo.city_name", "keyword"),
    ("destination.geo.continent_name", "keyword"),
    ("destination.geo.country_iso_code", "keyword"),
    ("destination.geo.country_name", "keyword"),
    ("destination.geo.location", "geo_point"),
    ("destination.geo.region_iso_code", "keyword"),
    ("destination.geo.region_name", "keyword"),
    ("destination.ip", "ip"),
    ("destination.port", "long"),
    ("ecs.version", "keyword"),
    ("event.action", "keyword"),
    ("event.category", "keyword"),
    ("event.dataset", "constant_keyword"),
    ("event.end", "date"),
    ("event.kind", "keyword"),
    ("event.module", "constant_keyword"),
    ("event.original", "keyword"),
    ("event.outcome", "keyword"),
    ("event.reason", "keyword"),
    ("event.start", "date"),
    ("event.type", "keyword"),
    // Host fields Elastic's agent adds to the documents it ships (never in ours), mapped so its
    // documents and ours share the data stream.
    ("host.containerized", "boolean"),
    ("host.os.build", "keyword"),
    ("host.os.codename", "keyword"),
    ("input.type", "keyword"),
    ("log.file.path", "keyword"),
    ("log.offset", "long"),
    ("network.bytes", "long"),
    ("network.community_id", "keyword"),
    ("network.direction", "keyword"),
    ("network.iana_number", "keyword"),
    ("network.packets", "long"),
    ("network.transport", "keyword"),
    ("network.type", "keyword"),
    ("orchestrator.cluster.id", "keyword"),
    ("orchestrator.cluster.name", "keyword"),
    ("orchestrator.resource.id", "keyword"),
    ("orchestrator.resource.name", "keyword"),
    ("related.hosts", "keyword"),
    ("related.ip", "ip"),
    ("service.name", "keyword"),
    ("source.address", "keyword"),
    ("source.as.number", "long"),
    ("source.as.organization.name", "keyword"),
    ("source.bytes", "long"),
    ("source.geo.city_name", "keyword"),
    ("source.geo.continent_name", "keyword"),
    ("source.geo.country_iso_code", "keyword"),
    ("source.geo.country_name", "keyword"),
    ("source.geo.location", "geo_point"),
    ("source.geo.region_iso_code", "keyword"),
    ("source.geo.region_name", "keyword"),
    ("source.ip", "ip"),
    ("source.packets", "long"),
    ("source.port", "long"),
    ("tags", "keyword"),
];

/// Every field path of the documents with its Elasticsearch type.
pub(crate) fn field_types() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = ECS_FIELDS
        .iter()
        .map(|(p, t)| (p.to_string(), *t))
        .collect();
    for f in FIELDS {
        if crate::sink::ecs::MAPPED.contains(&f.column) {
            continue;
        }
        let ty = match f.column {
            "pkt_srcaddr" | "pkt_dstaddr" => "ip",
            c if c.starts_with("packets_lost_") => "long",
            _ => "keyword",
        };
        out.push((format!("aws.vpcflow.{}", f.column), ty));
    }
    for (p, t) in [
        ("aws.vpcflow.pkt_src_service", "keyword"),
        ("aws.vpcflow.pkt_dst_service", "keyword"),
        ("aws.vpcflow.tcp_flags", "keyword"),
        ("aws.vpcflow.tcp_flags_array", "keyword"),
        ("aws.vpcflow.sublocation.type", "keyword"),
        ("aws.vpcflow.sublocation.id", "keyword"),
        // Our documents put these in orchestrator.* and service.name, as Elastic's pipeline
        // does; its field table maps them under aws.vpcflow too.
        ("aws.vpcflow.ecs_cluster_arn", "keyword"),
        ("aws.vpcflow.ecs_cluster_name", "keyword"),
        ("aws.vpcflow.ecs_container_instance_arn", "keyword"),
        ("aws.vpcflow.ecs_container_instance_id", "keyword"),
        ("aws.vpcflow.ecs_service_name", "keyword"),
    ] {
        out.push((p.to_string(), t));
    }
    // Attribution (--eni-inventory, --aws-ip-ranges): identifiers and names, all keywords
    // (`eni_security_groups` is an array of them).
    let attribution = crate::enrich::attribution::ENI_COLUMNS
        .iter()
        .chain(&crate::enrich::attribution::HOLDER_COLUMNS)
        .chain(&crate::enrich::attribution::AWS_COLUMNS);
    for c in attribution {
        out.push((format!("aws.vpcflow.{c}"), "keyword"));
    }
    out.sort();
    out
}

fn insert(props: &mut Map<String, Value>, path: &[&str], ty: &str) {
    let (head, rest) = (path[0], &path[1..]);
    if rest.is_empty() {
        let mut m = json!({ "type": ty });
        if head == "original" {
            // ECS: kept for reference, not searched.
            m = json!({ "type": ty, "index": false, "doc_values": false });
        }
        props.insert(head.to_string(), m);
        return;
    }
    let entry = props
        .entry(head.to_string())
        .or_insert_with(|| json!({ "properties": {} }));
    if let Some(Value::Object(inner)) = entry.get_mut("properties") {
        insert(inner, rest, ty);
    }
}

/// The composable index template, as JSON.
pub fn index_template() -> Value {
    let mut props = Map::new();
    for (path, ty) in field_types() {
        let parts: Vec<&str> = path.split('.').collect();
        // "@timestamp" is one segment; dotted ECS names nest.
        insert(&mut props, &parts, ty);
    }
    json!({
        "index_patterns": ["logs-aws.vpcflow-*"],
        "data_stream": {},
        "priority": 200,
        "template": {
            "settings": { "index": { "mapping": { "total_fields": { "limit": 2000 } } } },
            "mappings": {
                "dynamic_templates": [
                    { "vpcflow_other_as_keyword": {
                        "path_match": "aws.vpcflow.*",
                        "match_mapping_type": "string",
                        "mapping": { "type": "keyword" }
                    } }
                ],
                "properties": Value::Object(props)
            }
        },
        "_meta": {
            "description": "AWS VPC Flow logs as ECS documents (vpcflow), compatible with Elastic's AWS VPC Flow integration",
            "managed_by": "vpcflow"
        }
    })
}
